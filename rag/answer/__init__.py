"""Answer: takes a question and filters, gives a checked, cited Answer (as a stream of events).

The stages (rag.answer.stages.STAGES), each reading and writing one per-question state (rag.answer.state):
retrieve (hybrid search + retrieval scores) -> select evidence (the best sentences of the best articles) ->
generate (the model quotes, then answers, in the format of rag.answer.format) -> refocus (a count or date
from a worse-matching sentence written again with the best one's, rag.answer.slots) -> check (quotes verified,
citations repaired, disputes attributed) -> score (calibrated confidence; too low becomes an abstention).
`Assistant` (rag.answer.assistant) holds the index, embedder and model and runs the stages; followup rewrites
a chat's follow-up question before it enters them.
"""
