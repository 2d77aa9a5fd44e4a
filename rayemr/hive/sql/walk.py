"""Fast searches and copies of a sqlglot tree, for the compiler's passes (which search the
whole tree a few dozen times per query): the nodes of some types in one tight loop over the
nodes' arguments (``Expression.find_all`` pays a generator per node), and a copy that does
not deep-copy every node's type and meta through :func:`copy.deepcopy`."""
from __future__ import annotations

from collections import deque
from typing import Callable, Iterable, TypeVar

from sqlglot import exp

E = TypeVar("E", bound=exp.Expression)
P = TypeVar("P", bound=Callable)
_EXPR = exp.Expression


def nodes(tree: exp.Expression, *types: type[E], bfs: bool = True) -> list[E]:
    """The nodes of ``types`` in ``tree`` (``tree`` included), in the order
    ``tree.find_all(*types, bfs=bfs)`` yields them; a list, so the caller may rewrite
    them while it goes."""
    return _bfs(tree, types) if bfs else _dfs(tree, types)


def contains(tree: exp.Expression, *types: type) -> bool:
    """Whether ``tree`` (itself included) holds a node of ``types``: ``tree.find(*types)``
    as a truth value, stopping at the first."""
    stack = [tree]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        if isinstance(node, types):
            return True
        extend(_children(node))
    return False


def _children(node: exp.Expression) -> list:
    """The expressions among ``node``'s arguments, in argument order."""
    out = []
    for v in node.args.values():
        if type(v) is list:
            out.extend(x for x in v if isinstance(x, _EXPR))
        elif isinstance(v, _EXPR):
            out.append(v)
    return out


def _bfs(tree: exp.Expression, types: tuple) -> list:
    out = []
    queue = deque((tree,))
    pop, extend = queue.popleft, queue.extend
    while queue:
        node = pop()
        if isinstance(node, types):
            out.append(node)
        extend(_children(node))
    return out


def _dfs(tree: exp.Expression, types: tuple) -> list:
    out = []
    stack = [tree]
    pop = stack.pop
    while stack:
        node = pop()
        if isinstance(node, types):
            out.append(node)
        children = _children(node)
        children.reverse()
        stack.extend(children)
    return out


def copy(tree: E) -> E:
    """A copy of ``tree`` as ``tree.copy()`` makes it, sharing the nodes' types (sqlglot's
    type annotation shares them between nodes too; they are never changed in place) and
    copying their meta and comments one level deep: ``copy.deepcopy`` of every node's type
    and meta was most of the cost of copying an annotated tree."""
    root = tree.__class__()
    stack = [(tree, root)]
    pop, push = stack.pop, stack.append
    while stack:
        node, new = pop()
        if node.comments is not None:
            new.comments = list(node.comments)
        if node._type is not None:
            new._type = node._type
        if node._meta is not None:
            new._meta = dict(node._meta)
        if node._hash is not None:
            new._hash = node._hash
        args = new.args
        for k, vs in node.args.items():
            if isinstance(vs, _EXPR):
                child = vs.__class__()
                child.parent, child.arg_key = new, k
                push((vs, child))
                args[k] = child
            elif type(vs) is list:
                items = []
                for v in vs:
                    if isinstance(v, _EXPR):
                        child = v.__class__()
                        child.parent, child.arg_key, child.index = new, k, len(items)
                        push((v, child))
                        v = child
                    items.append(v)
                args[k] = items
            else:
                args[k] = vs
    return root


def finds(*types: type) -> Callable[[P], P]:
    """Declare that a pass rewrites only at nodes of ``types`` (it searches the tree for
    them and does nothing where there are none), so :func:`run_passes` skips it on a tree
    without such nodes."""
    def mark(fn: P) -> P:
        fn.finds = types  # type: ignore[attr-defined]
        return fn
    return mark


def census(tree: exp.Expression) -> set[type]:
    """The node classes present in ``tree``."""
    present = set()
    stack = [tree]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        present.add(node.__class__)
        for v in node.args.values():
            if type(v) is list:
                for x in v:
                    if isinstance(x, _EXPR):
                        push(x)
            elif isinstance(v, _EXPR):
                push(v)
    return present


def run_passes(tree: exp.Expression, passes: Iterable[Callable], *args: object) -> None:
    """``pass_(tree, *args)`` for each of ``passes`` in order, skipping a pass declared with
    :func:`finds` while the tree holds no node it looks for (most passes find nothing in
    most queries).

    The census of node classes is taken again only when a pass would be skipped on a census
    older than the last pass that ran (that pass may have made the nodes looked for); a pass
    whose nodes an older census shows runs without a new one (if they are gone, it finds
    nothing, which its :func:`finds` declaration promises is a no-op)."""
    present: set[type] | None = None
    fresh = False
    for pass_ in passes:
        wanted = getattr(pass_, "finds", None)
        if wanted is not None:
            if present is None or not (fresh or _any_of(present, wanted)):
                present, fresh = census(tree), True
            if not _any_of(present, wanted):
                continue
        pass_(tree, *args)
        fresh = False


def _any_of(present: set[type], wanted: tuple[type, ...]) -> bool:
    return any(issubclass(cls, wanted) for cls in present)
