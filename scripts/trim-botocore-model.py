# Trims a botocore service model to the operations OpenTrail serves (and the shapes they reach),
# dropping documentation strings. Usage: trim-botocore-model.py SERVICE-2.JSON.GZ OUT.JSON Op1,Op2,...
import json, gzip, sys
src, out, ops = sys.argv[1], sys.argv[2], sys.argv[3].split(',')
m = json.load(gzip.open(src))
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in ('documentation', 'documentationUrl', 'examples')}
    if isinstance(o, list):
        return [strip(x) for x in o]
    return o
keep = set()
def visit(name):
    if name in keep: return
    keep.add(name)
    s = m['shapes'][name]
    for ref in list((s.get('members') or {}).values()) + [s.get(k) for k in ('member', 'key', 'value') if s.get(k)]:
        visit(ref['shape'])
opsout = {}
for op in ops:
    o = m['operations'][op]
    opsout[op] = o
    for k in ('input', 'output'):
        if k in o: visit(o[k]['shape'])
    for e in o.get('errors', []): visit(e['shape'])
res = {'version': m.get('version', '2.0'), 'metadata': m['metadata'], 'operations': opsout,
       'shapes': {k: v for k, v in m['shapes'].items() if k in keep}}
json.dump(strip(res), open(out, 'w'), separators=(',', ':'))
print(out, len(opsout), len(res['shapes']))
