"""The client flow run by proxmoxer.test.ts with Debian's python3-proxmoxer (1.2.0).

Environment: PORT, MODE (token|ticket), USER, PASSWORD, TOKEN_NAME, TOKEN_VALUE.
Prints one JSON object with what it saw; fails (non-zero exit) on any unexpected answer.
"""
import json
import os
import time

from proxmoxer import ProxmoxAPI, ResourceException

port = int(os.environ["PORT"])
if os.environ["MODE"] == "token":
    px = ProxmoxAPI("127.0.0.1", port=port, user=os.environ["USER"], token_name=os.environ["TOKEN_NAME"],
                    token_value=os.environ["TOKEN_VALUE"], verify_ssl=False)
else:
    px = ProxmoxAPI("127.0.0.1", port=port, user=os.environ["USER"], password=os.environ["PASSWORD"], verify_ssl=False)

node = px.nodes("pve")
net = node.network
seen = {}

# list
bridges = net.get(type="bridge")
seen["bridges"] = [b["iface"] for b in bridges]
assert "vmbr0" in seen["bridges"], bridges
assert isinstance(bridges[0]["autostart"], int) and isinstance(bridges[0]["priority"], int)

# create (staged), get
assert net.post(iface="vmbr1", type="bridge", bridge_ports="", autostart=1, cidr="10.0.0.1/24", comments="test") is None
one = net("vmbr1").get()
assert "iface" not in one and one["cidr"] == "10.0.0.1/24" and one["autostart"] == 1 and one["comments"] == "test\n", one

# update with delete=
net("vmbr1").put(type="bridge", mtu=9000, delete="comments")
one = net("vmbr1").get()
assert one["mtu"] == "9000" and "comments" not in one, one
seen["after_update"] = one

# the pending changes: a raw request through the client's own session, as community.proxmox does
raw = px._store["session"].request("GET", px._store["base_url"] + "/nodes/pve/network").json()
assert "+iface vmbr1 inet static" in raw["changes"], raw.get("changes")
assert len(raw["digest"]) == 64
seen["changes"] = raw["changes"]

# duplicate create → 400 with PVE's reason phrase
try:
    net.post(iface="vmbr1", type="bridge")
    raise AssertionError("duplicate create succeeded")
except ResourceException as e:
    assert e.status_code == 400 and "Parameter verification failed." in str(e), str(e)
    seen["duplicate"] = str(e)

# missing interface
try:
    net("vmbr77").get()
    raise AssertionError("get of a missing interface succeeded")
except ResourceException as e:
    assert e.status_code == 400, str(e)

# revert drops everything staged
assert net.delete() is None
assert "vmbr1" not in [b["iface"] for b in net.get()]

# stage again, apply, poll the task
net.post(iface="vmbr1", type="bridge", bridge_ports="", autostart=1, cidr="10.0.0.1/24")
upid = net.put()
assert upid.startswith("UPID:pve:") and ":srvreload:networking:" in upid, upid
for _ in range(100):
    st = node.tasks(upid).status.get()
    if st["status"] != "running":
        break
    time.sleep(0.05)
assert st["status"] == "stopped" and st["exitstatus"] == "OK", st
log = node.tasks(upid).log.get()
assert log[-1]["t"] == "TASK OK", log
seen["upid"] = upid

# delete (staged) and apply again
assert net("vmbr1").delete() is None
try:
    net("vmbr1").get()
    raise AssertionError("deleted interface still there")
except ResourceException as e:
    assert e.status_code == 400
upid2 = net.put()
for _ in range(100):
    st = node.tasks(upid2).status.get()
    if st["status"] != "running":
        break
    time.sleep(0.05)
assert st["exitstatus"] == "OK", st
seen["upid2"] = upid2
print(json.dumps(seen))
