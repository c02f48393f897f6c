#!/usr/bin/python3
# nodenet's oracle driver for ifupdown2's own interfaces-file parser (MIT, part of nodenet;
# see docs/diagnostics.md "Differential test").
#
#   /usr/bin/python3 ifupdown2-parse.py SHARE_DIR
#
# Imports ifupdown2's networkinterfaces module from SHARE_DIR (e.g. /usr/share/ifupdown2) and
# parses files with template rendering configured exactly as Debian's ifupdown2.conf does
# (template_enable=1, template_engine=mako, template_lookuppath=/etc/network/ifupdown2/templates).
# Nothing is brought up: only the parser runs. `source` lines are recorded, not followed (the
# glob would read the host's files).
#
# Protocol: JSON lines. Requests on stdin, one reply per request on stdout:
#   <- {"ready": true, "mako": "1.2.4"}                       once, at start
#   -> {"id": N, "text": "auto lo\niface lo inet loopback\n"}
#   <- {"id": N, "ifaces": [{"name", "type" ("iface" | "bridge-vlan"), "family", "method", "config": {key: [values]}}],
#       "auto": [...], "auto_all": bool, "allow": {class: [names]}, "sources": [...],
#       "errors": E, "warnings": W, "rendered": bool, "exception": null | "text"}
#   ifaces in the order ifupdown2 found them; `rendered`: mako changed the text.
import json
import logging
import re
import sys

TEMPLATE_LOOKUPPATH = '/etc/network/ifupdown2/templates'


def main():
    share = sys.argv[1]
    sys.path.insert(0, share)
    logging.basicConfig(level=logging.CRITICAL + 1)  # the parser logs its errors; we count them
    from ifupdown.networkinterfaces import networkInterfaces  # noqa: E402
    from ifupdown.iface import ifaceType  # noqa: E402
    try:
        import mako  # noqa: F401
        mako_version = mako.__version__
    except ImportError:
        mako_version = None

    def parse(text):
        found = []
        sources = []
        ni = networkInterfaces(interfacesfile='interfaces', interfacesfileiobuf=text,
                               template_enable='1', template_engine='mako',
                               template_lookuppath=TEMPLATE_LOOKUPPATH)

        def on_iface(obj):
            found.append({
                'name': obj.name,
                'type': 'bridge-vlan' if obj.type == ifaceType.BRIDGE_VLAN else 'iface',
                'family': list(obj.addr_family),
                'method': obj.addr_method,
                'config': {k: list(v) for k, v in obj.config.items()},
            })

        ni.subscribe('iface_found', on_iface)

        def record_source(self, lines, cur_idx, lineno):
            # the same split as ifupdown2's process_source (IndexError on a bare `source`)
            sources.append(re.split(self._ws_split_regex, lines[cur_idx], 2)[1])
            return 0

        # network_elems holds the functions themselves: replace the one for `source` on this
        # instance's copy only.
        ni.network_elems = dict(ni.network_elems, source=record_source)
        rendered = [False]
        orig_process = ni.process_interfaces

        def process(filedata):
            rendered[0] = filedata != text
            return orig_process(filedata)

        ni.process_interfaces = process
        exc = None
        try:
            ni.load()
        except Exception as e:  # ifupdown2 itself stops on these (e.g. `iface` without a name)
            exc = '%s: %s' % (type(e).__name__, e)
        return {
            'ifaces': found,
            'auto': list(ni.auto_ifaces),
            'auto_all': ni.auto_all,
            'allow': {k: list(v) for k, v in ni.allow_classes.items()},
            'sources': sources,
            'errors': ni.errors,
            'warnings': ni.warns,
            'rendered': rendered[0],
            'exception': exc,
        }

    out = sys.stdout
    out.write(json.dumps({'ready': True, 'mako': mako_version}) + '\n')
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            rep = parse(req['text'])
        except BaseException as e:  # a template may raise anything, even SystemExit
            rep = {'exception': 'driver: %s: %s' % (type(e).__name__, e)}
        rep['id'] = req.get('id')
        out.write(json.dumps(rep) + '\n')
        out.flush()


if __name__ == '__main__':
    main()
