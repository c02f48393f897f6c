"""The client flow run by proxmoxer.test.ts against a nodenet fleet server, with Debian's
python3-proxmoxer (1.2.0), as a script would drive a Proxmox VE cluster.

Environment: PORT, USER, PASSWORD, ONLINE (comma-separated node names), OFFLINE (one node name).
Prints one JSON object with what it saw; fails (non-zero exit) on any unexpected answer.
"""
import json
import os
import time

from proxmoxer import ProxmoxAPI, ResourceException

px = ProxmoxAPI("127.0.0.1", port=int(os.environ["PORT"]), user=os.environ["USER"],
                password=os.environ["PASSWORD"], verify_ssl=False)
online = os.environ["ONLINE"].split(",")
offline = os.environ["OFFLINE"]
seen = {"nodes": {}, "upids": {}}

# the cluster's nodes, as pvesh get /nodes lists them
for n in px.nodes.get():
    seen["nodes"][n["node"]] = n["status"]
    assert n["type"] == "node" and n["id"] == "node/" + n["node"], n
for n in online:
    assert seen["nodes"].get(n) == "online", seen
assert seen["nodes"].get(offline) == "offline", seen


def wait_task(node, upid):
    for _ in range(600):
        st = px.nodes(node).tasks(upid).status.get()
        if st["status"] == "stopped":
            return st
        time.sleep(0.1)
    raise AssertionError("task did not end: " + upid)


for i, n in enumerate(online):
    net = px.nodes(n).network
    before = [x["iface"] for x in net.get()]
    assert "vmbr0" in before, before
    # create two bridges, read one back, change it, delete the other
    assert net.post(iface="vmbr1", type="bridge", autostart=1, cidr="10.9.%d.1/24" % i, comments=n) is None
    assert net.post(iface="vmbr2", type="bridge") is None
    one = net("vmbr1").get()
    assert one["cidr"] == "10.9.%d.1/24" % i and one["comments"] == n + "\n", one
    net("vmbr1").put(type="bridge", mtu=9000, delete="comments")
    one = net("vmbr1").get()
    assert one["mtu"] == "9000" and "comments" not in one, one
    net("vmbr2").delete()
    ifaces = sorted(x["iface"] for x in net.get(type="bridge"))
    assert ifaces == ["vmbr0", "vmbr1"], ifaces
    # another node's interface is not this node's
    try:
        px.nodes(n).network("vmbr77").get()
        raise AssertionError("get of a missing interface succeeded")
    except ResourceException as e:
        assert e.status_code == 400, str(e)
    # apply, then the task, through the node's tasks
    upid = net.put()
    assert upid.startswith("UPID:%s:" % n), upid
    st = wait_task(n, upid)
    assert st["exitstatus"] == "OK", st
    seen["upids"][n] = upid

# a node that is down: its interfaces from what it last published; a change is 595
stale = [x["iface"] for x in px.nodes(offline).network.get()]
seen["stale"] = stale
try:
    px.nodes(offline).network.post(iface="vmbr1", type="bridge")
    raise AssertionError("a change to an offline node succeeded")
except ResourceException as e:
    assert e.status_code == 595, str(e)
    seen["offline"] = str(e)
# a node nobody registered
try:
    px.nodes("nosuch").network.get()
    raise AssertionError("a missing node answered")
except ResourceException as e:
    assert e.status_code == 400, str(e)

print(json.dumps(seen))
