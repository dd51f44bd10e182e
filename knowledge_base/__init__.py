"""Knowledge base search: Korean- and English-aware full-text search of articles and tickets."""
