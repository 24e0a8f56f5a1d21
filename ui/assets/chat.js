// A [n] in an answer opens and shows the card of passage n under it (the chat would open links in a new tab).
if (!window.ragCiteLinks) {
  window.ragCiteLinks = true;
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a.rag-cite") : null;
    if (!link) return;
    const id = link.dataset.target || (link.getAttribute("href") || "").replace(/^#/, "");
    const card = id ? document.getElementById(id) : null;
    if (!card) return;
    event.preventDefault();
    event.stopPropagation();
    const more = card.closest("details.rag-more");
    if (more) more.open = true;
    card.open = true;
    card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    card.classList.remove("rag-flash");
    void card.offsetWidth;
    card.classList.add("rag-flash");
  }, true);
}
