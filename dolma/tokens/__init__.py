"""The tokens stage: documents → uint16/uint32 token memmaps with a ``.csv.gz`` document index, and the dataset
a trainer reads them with."""
