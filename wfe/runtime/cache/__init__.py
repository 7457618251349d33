"""client-go's tools/cache and controller-runtime's cache: store/indexer, reflector, informers."""

from wfe.runtime.cache.backoff import Backoff, ExponentialBackoff
from wfe.runtime.cache.cache import Cache, ResourceNotCachedError
from wfe.runtime.cache.handlers import ResourceEventHandler, ResourceEventHandlerFuncs
from wfe.runtime.cache.index import (
    NAMESPACE_INDEX,
    IndexFunc,
    field_index_name,
    index_by_field,
    meta_namespace_key,
    namespace_index,
    object_key,
    split_meta_namespace_key,
)
from wfe.runtime.cache.informer import SharedIndexInformer
from wfe.runtime.cache.reflector import Reflector, ReflectorOptions, ReflectorStore
from wfe.runtime.cache.store import (
    Change,
    ChangeType,
    Indexer,
    Listing,
    ProjectFunc,
    copy_object,
    decode_object,
    encode_object,
)

__all__ = [
    "NAMESPACE_INDEX",
    "Backoff",
    "Cache",
    "Change",
    "ChangeType",
    "ExponentialBackoff",
    "IndexFunc",
    "Indexer",
    "Listing",
    "ProjectFunc",
    "Reflector",
    "ReflectorOptions",
    "ReflectorStore",
    "ResourceEventHandler",
    "ResourceEventHandlerFuncs",
    "ResourceNotCachedError",
    "SharedIndexInformer",
    "copy_object",
    "decode_object",
    "encode_object",
    "field_index_name",
    "index_by_field",
    "meta_namespace_key",
    "namespace_index",
    "object_key",
    "split_meta_namespace_key",
]
