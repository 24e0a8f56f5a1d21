"""Timelines: takes a story's query (and filters), gives its events in date order, each with its sources.

build (retrieve the story's articles, assemble the Timeline) -> lede (what happened: the first substantive
sentence) -> dating (the event's day from the lede's relative date, or an undated article's place from the
dates it mentions) -> grouping (wire copies and reports of one event together).
"""
