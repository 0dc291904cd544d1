#!/usr/bin/env python3
"""lmdb_pages.py - pages the last commit of an LMDB file wrote, per table.

Usage: mdb_copy HOME/db SNAP && tests/bench/lmdb_pages.py SNAP/data.mdb

LMDB keeps two meta pages: the last committed transaction T and the one
before, T-1, and (copy-on-write) every page T changed is a new page. So
the pages of a table's B-tree in T that are not in its tree in T-1 are the
pages T wrote for that table. A non-compacting mdb_copy of a live store
keeps both trees intact (its read transaction stops the writer from
reusing the pages T freed). Taking copies every second or so during a
backlog sync (spec/gossip.md section 9) gives the pages per table of
commits in the middle of it. Assumes a 64-bit LMDB 0.9 file with 4-KiB
pages; a page whose header does not carry its own number is counted as
"bad" (a copy taken while the file changed).
"""
import struct
import sys

PS = 4096
NONE = 0xFFFFFFFFFFFFFFFF


def header(data, p):
    # mp_pgno (8), mp_pad (2), mp_flags (2), mp_lower (2), mp_upper (2)
    return struct.unpack_from('<QHHHH', data, p * PS)


def nodes(data, p):
    _, _, _, lower, _ = header(data, p)
    for i in range((lower - 16) >> 1):
        ptr, = struct.unpack_from('<H', data, p * PS + 16 + 2 * i)
        no = p * PS + ptr
        lo, hi, fl, ks = struct.unpack_from('<HHHH', data, no)
        yield lo, hi, fl, data[no + 8:no + 8 + ks], no + 8 + ks


def tree(data, root, out, bad):
    """Adds the page numbers of the B-tree at root to out."""
    stack = [] if root == NONE else [root]
    while stack:
        p = stack.pop()
        pgno, _, flags, _, _ = header(data, p)
        if pgno != p:
            bad[0] += 1
            continue
        out.add(p)
        for lo, hi, fl, _, d in nodes(data, p):
            if flags & 1:  # branch: the child's page number
                stack.append(lo | (hi << 16) | (fl << 32))
            elif fl & 1:  # leaf, F_BIGDATA: overflow pages
                op, = struct.unpack_from('<Q', data, d)
                n, = struct.unpack_from('<I', data, op * PS + 12)
                out.update(range(op, op + n))


def named(data, main_root, bad):
    """{table name: (its pages, its entries)} from the main database."""
    t, stack = {}, [] if main_root == NONE else [main_root]
    while stack:
        p = stack.pop()
        flags = header(data, p)[2]
        for lo, hi, fl, key, d in nodes(data, p):
            if flags & 1:
                stack.append(lo | (hi << 16) | (fl << 32))
            elif fl & 2:  # F_SUBDATA: an MDB_db record
                rec = struct.unpack_from('<IHHQQQQQ', data, d)
                pages = set()
                tree(data, rec[7], pages, bad)
                t[key.decode(errors='replace')] = (pages, rec[6])
    return t


def freed_by(data, free_root, txnid):
    """The page numbers the free-list record of txnid lists (the pages
    that transaction freed), or an empty list."""
    stack = [] if free_root == NONE else [free_root]
    while stack:
        p = stack.pop()
        flags = header(data, p)[2]
        for lo, hi, fl, key, d in nodes(data, p):
            if flags & 1:
                stack.append(lo | (hi << 16) | (fl << 32))
                continue
            if struct.unpack_from('<Q', key)[0] != txnid:
                continue
            dlen = lo | (hi << 16)
            if fl & 1:  # F_BIGDATA
                op, = struct.unpack_from('<Q', data, d)
                d = op * PS + 16
            n, = struct.unpack_from('<Q', data, d)
            n = min(n, dlen // 8 - 1)
            return list(struct.unpack_from(f'<{n}Q', data, d + 8))
    return []


def metas(data):
    out = []
    for m in (0, 1):
        off = m * PS + 16 + 24  # after magic, version, address, mapsize
        dbs = [struct.unpack_from('<IHHQQQQQ', data, off + 48 * d)
               for d in (0, 1)]
        last, txnid = struct.unpack_from('<QQ', data, off + 96)
        out.append((txnid, dbs[0][7], dbs[1][7], last))
    return sorted(out)


def main():
    data = open(sys.argv[1], 'rb').read()
    (t0, free0, main0, last0), (t1, free1, main1, _) = metas(data)
    bad = [0]
    a, b = named(data, main0, bad), named(data, main1, bad)
    rows = []
    for name, (pages, ent) in b.items():
        old = a.get(name, (set(), 0))
        rows.append((len(pages - old[0]), name, len(pages), ent - old[1]))
    for name, r0, r1 in (('(free list)', free0, free1),
                         ('(main)', main0, main1)):
        p0, p1 = set(), set()
        tree(data, r0, p0, bad)
        tree(data, r1, p1, bad)
        rows.append((len(p1 - p0), name, len(p1), 0))
    old = set()
    for pages, _ in a.values():
        old |= pages
    for r in (free0, main0):
        tree(data, r, old, bad)
    freed = freed_by(data, free1, t1)
    churn = [p for p in freed if p not in old]
    # of those, pages past the end of the file before t1 that hold a page
    # header naming themselves: t1 wrote them to the file
    wrote = [p for p in churn if p > last0 and (p + 1) * PS <= len(data)
             and header(data, p)[0] == p]
    ops = b['ops'][1] - a['ops'][1] if 'ops' in a and 'ops' in b else 0
    total = sum(r[0] for r in rows)
    print(f'txn {t0} -> {t1}: {ops} ops added, {total} pages written '
          f'({total / max(ops, 1):.2f} per op), {bad[0]} bad pages')
    print(f'  freed by txn {t1}: {len(freed)} pages, of which {len(churn)} '
          f'it had allocated itself (never live after it); {len(wrote)} of '
          f'them new at the end of the file and written there')
    for new, name, size, added in sorted(rows, reverse=True):
        if new:
            print(f'  {name:12s} {new:7d} pages ({new / max(ops, 1):.2f} per '
                  f'op) of {size:7d}; {added:+d} entries')


if __name__ == '__main__':
    main()
