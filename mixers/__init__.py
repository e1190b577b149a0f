"""The mix stage: documents plus attributes, filtered by JSONPath or jq, spans replaced, sampled, written as
sharded output with a manifest per shard."""

from dolma.mixers.config import MixConfig
from dolma.mixers.jq import compile_jq
from dolma.mixers.jsonpath import compile_jsonpath

__all__ = ["MixConfig", "compile_jq", "compile_jsonpath"]
