"""SLEAP's jsonpickle node-link skeleton form <-> `sleap_io.Skeleton`.

SLEAP stores skeletons in `training_config.json` as networkx node-link graphs
serialized by jsonpickle: each `sleap.skeleton.Node` is written in full
(`py/object` + `py/state`) the first time it is met and referenced by `py/id`
afterwards; edge types are `py/reduce` of `sleap.skeleton.EdgeType` (1 = body edge,
2 = symmetry) and are referenced the same way. `py/id` counts objects in the order
jsonpickle meets them (keys sorted, so `links` before `nodes`; in a link `source`,
`target`, `type`). This module reads and writes exactly that, so SLEAP 1.4.1 can read
what sleapish writes.
"""

from __future__ import annotations

from typing import Any, Dict, List

from sleap_io.model.skeleton import Edge, Node, Skeleton, Symmetry

from sleapish.errors import SleapishError

_BODY, _SYMMETRY = 1, 2


class SkeletonJSONError(SleapishError, ValueError):
    """A skeleton in SLEAP's jsonpickle form could not be decoded."""


def _fail(msg: str, value: Any) -> SkeletonJSONError:
    text = repr(value)
    if len(text) > 200:
        text = text[:200] + "..."
    return SkeletonJSONError(f"{msg}. Received: {text}")


class _Registry:
    """Objects in jsonpickle encounter order; `py/id` n is entry n-1."""

    def __init__(self):
        self.objects: List[Any] = []

    def resolve(self, obj: Any) -> Any:
        if not isinstance(obj, dict):
            raise _fail("Expected a jsonpickle object (dict)", obj)
        if "py/id" in obj:
            i = obj["py/id"]
            if not isinstance(i, int) or not 1 <= i <= len(self.objects):
                raise _fail(
                    f"Skeleton 'py/id' refers to no earlier object "
                    f"({len(self.objects)} seen so far)", obj)
            return self.objects[i - 1]
        if "py/object" in obj:
            state = obj.get("py/state")
            if isinstance(state, dict) and "py/tuple" in state:
                name = state["py/tuple"][0]
            elif isinstance(state, dict) and "name" in state:
                name = state["name"]
            else:
                raise _fail("Skeleton node has no name in 'py/state'", obj)
            node = Node(str(name))
            self.objects.append(node)
            return node
        if "py/reduce" in obj:
            try:
                edge_type = int(obj["py/reduce"][1]["py/tuple"][0])
            except (KeyError, IndexError, TypeError, ValueError):
                raise _fail("Skeleton edge type is not an EdgeType py/reduce", obj) from None
            self.objects.append(edge_type)
            return edge_type
        if "py/tuple" in obj:  # not referenced by id in jsonpickle
            return tuple(obj["py/tuple"])
        raise _fail("Unknown jsonpickle object in skeleton", obj)


def skeleton_from_dict(data: Dict[str, Any]) -> Skeleton:
    """Decode one skeleton from SLEAP's jsonpickle node-link dict.

    Args:
        data: A dict with keys `directed`, `graph`, `links`, `multigraph`, `nodes`,
            as found in `data.labels.skeletons[i]` of a `training_config.json`.

    Returns:
        A `sleap_io.Skeleton` with nodes in stored order, body edges ordered by
        `edge_insert_idx`, and each symmetric pair once.

    Raises:
        SkeletonJSONError: If the dict is not a valid SLEAP skeleton; the message
            names what is wrong and shows the value received.
    """
    if not isinstance(data, dict) or "nodes" not in data or "links" not in data:
        raise _fail("A skeleton must be a dict with 'nodes' and 'links'", data)
    registry = _Registry()
    body, sym = [], []
    # jsonpickle sorts keys: every link is decoded before the node list.
    for link in data["links"]:
        if not isinstance(link, dict) or "source" not in link or "target" not in link:
            raise _fail("A skeleton link needs 'source' and 'target'", link)
        src = registry.resolve(link["source"])
        dst = registry.resolve(link["target"])
        edge_type = registry.resolve(link["type"]) if "type" in link else _BODY
        if not isinstance(src, Node) or not isinstance(dst, Node):
            raise _fail("Skeleton link endpoints must be nodes", link)
        if edge_type == _SYMMETRY:
            sym.append((src, dst))
        elif edge_type == _BODY:
            body.append((link.get("edge_insert_idx", len(body)), src, dst))
        else:
            raise _fail("Skeleton edge type must be 1 (body) or 2 (symmetry)", link)
    nodes = []
    for entry in data["nodes"]:
        node = registry.resolve(entry.get("id") if isinstance(entry, dict) else entry)
        if not isinstance(node, Node):
            raise _fail("Skeleton node list entry is not a node", entry)
        nodes.append(node)
    known = set(map(id, nodes))
    for _, s, d in body:
        if id(s) not in known or id(d) not in known:
            raise _fail("Skeleton edge uses a node missing from 'nodes'", (s.name, d.name))
    body.sort(key=lambda t: t[0])
    symmetries, seen = [], set()
    for a, b in sym:
        key = frozenset((id(a), id(b)))
        if key not in seen:
            seen.add(key)
            symmetries.append(Symmetry({a, b}))
    name = (data.get("graph") or {}).get("name")
    return Skeleton(
        nodes=nodes,
        edges=[Edge(s, d) for _, s, d in body],
        symmetries=symmetries,
        name=name,
    )


def skeleton_to_dict(skeleton: Skeleton) -> Dict[str, Any]:
    """Encode a skeleton in SLEAP's jsonpickle node-link form.

    Body edges carry `edge_insert_idx` in their order in `skeleton.edges`; each
    symmetry is written as two directed links of type 2, as SLEAP stores them.

    Args:
        skeleton: A `sleap_io.Skeleton`.

    Returns:
        A JSON-serializable dict that `skeleton_from_dict` (and SLEAP) decode back to
        the same skeleton.
    """
    ids: Dict[int, int] = {}
    order = {id(n): i for i, n in enumerate(skeleton.nodes)}

    def ref(obj_key: int, full: Dict[str, Any]) -> Dict[str, Any]:
        if obj_key in ids:
            return {"py/id": ids[obj_key]}
        ids[obj_key] = len(ids) + 1
        return full

    def node_obj(node: Node) -> Dict[str, Any]:
        return ref(id(node), {"py/object": "sleap.skeleton.Node",
                              "py/state": {"py/tuple": [node.name, 1.0]}})

    def type_obj(edge_type: int) -> Dict[str, Any]:
        return ref(-edge_type, {"py/reduce": [{"py/type": "sleap.skeleton.EdgeType"},
                                              {"py/tuple": [edge_type]}]})

    raw = [(order[id(e.source)], 0, i, e.source, e.destination, _BODY)
           for i, e in enumerate(skeleton.edges)]
    for sym in skeleton.symmetries:
        a, b = sorted(sym.nodes, key=lambda n: order[id(n)])
        raw.append((order[id(a)], 1, len(raw), a, b, _SYMMETRY))
        raw.append((order[id(b)], 1, len(raw), b, a, _SYMMETRY))
    raw.sort(key=lambda t: t[:3])  # networkx: grouped by source in node order
    links = []
    for _, _, idx, src, dst, edge_type in raw:
        link = {}
        if edge_type == _BODY:
            link["edge_insert_idx"] = idx
        link["key"] = 0
        link["source"] = node_obj(src)
        link["target"] = node_obj(dst)
        link["type"] = type_obj(edge_type)
        links.append(link)
    nodes = [{"id": node_obj(n)} for n in skeleton.nodes]
    return {
        "directed": True,
        "graph": {"name": skeleton.name or "Skeleton",
                  "num_edges_inserted": len(skeleton.edges)},
        "links": links,
        "multigraph": True,
        "nodes": nodes,
    }


def skeleton_signature(skeleton: Skeleton) -> tuple:
    """A hashable structural summary: name, node names, edges and symmetries.

    Two skeletons with equal signatures have the same nodes in the same order, the
    same directed body edges in the same order and the same symmetric pairs.
    """
    return (
        skeleton.name,
        tuple(skeleton.node_names),
        tuple((e.source.name, e.destination.name) for e in skeleton.edges),
        frozenset(frozenset(n.name for n in s.nodes) for s in skeleton.symmetries),
    )


def skeletons_match(a: Skeleton, b: Skeleton, check_name: bool = False) -> bool:
    """Whether two skeletons have the same nodes, edges and symmetries.

    Args:
        a: A `sleap_io.Skeleton`.
        b: Another `sleap_io.Skeleton`.
        check_name: If `True`, the skeleton names must match too.
    """
    sa, sb = skeleton_signature(a), skeleton_signature(b)
    return sa[1:] == sb[1:] and (not check_name or sa[0] == sb[0])
