#!/usr/bin/python3
"""proxmoxer against the guest's nodenet through the forwarded port: runs the JSON list of
operations in argv[1] after logging in as USER/PASSWORD (env), prints one JSON result.
Operations: ["list"], ["create", {params}], ["update", iface, {params}],
["apply", confirm_timeout_or_null] (waits for the task), ["confirm"], ["history"]."""
import json, os, sys, time, warnings
warnings.filterwarnings('ignore')
from proxmoxer import ProxmoxAPI

p = ProxmoxAPI('127.0.0.1', port=int(os.environ['PORT']), user=os.environ['PUSER'],
               password=os.environ['PW'], verify_ssl=False, timeout=120)
node = p.nodes(os.environ.get('NODE', 'fsguest'))
out = []
for op in json.loads(sys.argv[1]):
    if op[0] == 'list':
        out.append(sorted(i['iface'] for i in node.network.get()))
    elif op[0] == 'create':
        out.append(node.network.post(**op[1]))
    elif op[0] == 'update':
        out.append(node.network(op[1]).put(**op[2]))
    elif op[0] == 'apply':
        upid = node.network.put(**({'confirm-timeout': op[1]} if op[1] else {}))
        while True:
            st = node.tasks(upid).status.get()
            if st['status'] == 'stopped':
                break
            time.sleep(0.5)
        log = '\n'.join(l['t'] for l in node.tasks(upid).log.get(limit=1000))
        out.append({'exitstatus': st.get('exitstatus'), 'log': log})
    elif op[0] == 'confirm':
        out.append(node.network.confirm.post())
    elif op[0] == 'history':
        out.append(node.network.history.get())
print(json.dumps(out))
