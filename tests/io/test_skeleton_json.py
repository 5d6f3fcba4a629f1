"""SLEAP jsonpickle skeleton form <-> sleap_io.Skeleton."""

from __future__ import annotations

import json

import pytest
import sleap_io as sio

from sleapish.io.skeleton_json import (
    SkeletonJSONError,
    skeleton_from_dict,
    skeleton_signature,
    skeleton_to_dict,
    skeletons_match,
)


def _fly():
    return sio.Skeleton(
        ["head", "thorax", "abdomen", "wingL", "wingR", "lone"],
        edges=[("thorax", "head"), ("thorax", "abdomen"), ("thorax", "wingL"),
               ("thorax", "wingR")],
        symmetries=[("wingL", "wingR")],
        name="fly",
    )


def test_round_trip_keeps_order_edges_symmetries_and_isolated_nodes():
    skel = _fly()
    data = skeleton_to_dict(skel)
    back = skeleton_from_dict(json.loads(json.dumps(data)))
    assert skeleton_signature(back) == skeleton_signature(skel)
    assert back.node_names == ["head", "thorax", "abdomen", "wingL", "wingR", "lone"]
    assert back.edge_inds == [(1, 0), (1, 2), (1, 3), (1, 4)]
    assert back.symmetry_inds == [(3, 4)]


def test_encoding_uses_jsonpickle_references_like_sleap():
    data = skeleton_to_dict(_fly())
    assert data["directed"] is True and data["multigraph"] is True
    assert data["graph"] == {"name": "fly", "num_edges_inserted": 4}
    links = data["links"]
    # 4 body edges + the symmetry stored in both directions, as SLEAP stores it.
    assert len(links) == 6
    first = links[0]
    assert first["source"] == {"py/object": "sleap.skeleton.Node",
                               "py/state": {"py/tuple": ["thorax", 1.0]}}
    assert first["type"]["py/reduce"][1] == {"py/tuple": [1]}
    # thorax=1, head=2, EdgeType.BODY=3; later mentions are references.
    assert links[1]["source"] == {"py/id": 1}
    assert links[1]["type"] == {"py/id": 3}
    sym = [lk for lk in links if "edge_insert_idx" not in lk]
    assert len(sym) == 2
    assert [lk["edge_insert_idx"] for lk in links if "edge_insert_idx" in lk] == [0, 1, 2, 3]
    # The isolated node is written in full in the node list; others by reference.
    assert data["nodes"][-1]["id"]["py/state"]["py/tuple"][0] == "lone"
    assert all("py/id" in n["id"] for n in data["nodes"][:-1])


def test_decodes_old_dict_state_and_sorts_by_insert_index():
    node = lambda n: {"py/object": "sleap.skeleton.Node",
                      "py/state": {"name": n, "weight": 1.0}}
    body = {"py/reduce": [{"py/type": "sleap.skeleton.EdgeType"}, {"py/tuple": [1]}]}
    data = {
        "directed": True, "graph": {"name": "s", "num_edges_inserted": 2},
        "links": [
            {"edge_insert_idx": 1, "key": 0, "source": node("a"), "target": node("c"),
             "type": body},
            {"edge_insert_idx": 0, "key": 0, "source": {"py/id": 1},
             "target": node("b"), "type": {"py/id": 3}},
        ],
        "multigraph": True,
        "nodes": [{"id": {"py/id": 1}}, {"id": {"py/id": 4}}, {"id": {"py/id": 2}}],
    }
    skel = skeleton_from_dict(data)
    assert skel.node_names == ["a", "b", "c"]
    assert [(e.source.name, e.destination.name) for e in skel.edges] == [
        ("a", "b"), ("a", "c")]


@pytest.mark.parametrize(
    "data, match",
    [
        ({"nodes": []}, "'nodes' and 'links'"),
        ({"links": [{"source": {"py/id": 5}, "target": {"py/id": 1}}], "nodes": []},
         "py/id"),
        ({"links": [], "nodes": [{"id": {"py/object": "x", "py/state": {}}}]},
         "no name"),
    ],
)
def test_malformed_skeleton_errors(data, match):
    with pytest.raises(SkeletonJSONError, match=match):
        skeleton_from_dict(data)


def test_skeletons_match_ignores_name_unless_asked():
    a, b = _fly(), _fly()
    b.name = "other"
    assert skeletons_match(a, b) and not skeletons_match(a, b, check_name=True)
    c = sio.Skeleton(["head", "thorax"], edges=[("head", "thorax")])
    assert not skeletons_match(a, c)
