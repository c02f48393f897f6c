#!/usr/bin/python3
# nodenet's warm ifupdown2 worker (MIT, part of nodenet; see docs/apply.md "Warm worker").
#
#   /usr/bin/python3 ifupdown2-worker.py SHARE_DIR [--etc-src DIR --etc-conf DIR --etc-dst DIR]
#
# Runs ifupdown2 commands (ifup/ifdown/...) one after the other in ONE python process, using
# ifupdown2's own daemon mode: `Ifupdown2(daemon=True)` does not dump the kernel into a new
# netlink cache for every command but reuses the process-wide NetlinkListenerWithCache, which
# this worker starts once and whose listener thread keeps it in sync with the kernel.
# This file only imports and calls ifupdown2's modules (SHARE_DIR, e.g. /usr/share/ifupdown2).
#
# Protocol: JSON lines. Requests on stdin, replies on stdout:
#   <- {"ready": true, "pid": P, "version": V, "start_ms": T}        once, when the cache is filled
#   -> {"id": N, "argv": ["ifup", "-w", "vmbr5"]}
#   <- {"id": N, "line": "warning: vmbr5: ..."}                      what the command prints
#   <- {"id": N, "done": true, "code": C}                           its exit status
#   <- {"id": N, "refused": "why", "fatal": bool}                   not run: run it elsewhere;
#                                                                   fatal: the worker then exits
#   -> {"id": N, "status": true}
#   <- {"id": N, "status": {"commands": ..., "resets": {...}, "rebound": [...], "leaks": [...]}}
#      rebound: module globals the resets rebound (by-value imports); leaks: module globals
#      still holding an object a reset replaced (must be empty)
# End of stdin: the worker exits (between commands; a running command is finished first).
# Everything else the process or its children write goes to stderr.
#
# What the worker adds around each command, and why:
# - sync barrier: before a command it waits until every kernel notification queued before the
#   request reached the cache (netlink socket drained, listener and cache threads idle), so
#   changes made by other tools between commands are seen exactly as a fresh dump would.
# - stale-cache checks: a listener error (e.g. ENOBUFS: notifications lost), a dead thread or a
#   leftover per-command entry in the cache's ignore lists refuse the command (fatal).
# - unconfirmed links: after a netlink request ifupdown2 caches the packet it SENT (flagged
#   NLM_F_REQUEST in priv_flags) until the kernel's notification replaces it; a request that
#   changed nothing (e.g. a bond's options set to what they are) gets no notification, so the
#   sent packet (no IFLA_MTU, ...) would stay in a long-lived cache. Seen on a real kernel: the
#   next command read the bond's MTU as 0 and set its VLANs' MTU to 0. Before each command such
#   entries are replaced by a link dump (once; still there after it: refused, fatal).
# - per-command resets that daemon mode misses in this layout: module-level objects that
#   ifupdown2 replaces on reset (statemanager_api, policymanager_api, flags, config) are
#   rebound wherever a module imported them by value (bond and vrf keep `statemanager`); the
#   MSTP attribute cache and the cache's sysfs ifindex fallback maps are emptied.
# - the lock: ifupdown2 flocks /run/network/.lock and never closes it (the process exits);
#   the worker closes it after each command so the next one, or another ifupdown2, can run.
# - /etc/network (--etc-*): a directory of symlinks into the live configuration directory,
#   refreshed before each command, so a file renamed into place later is the one read.
import json
import logging
import os
import select
import signal
import sys
import threading
import time
import weakref

BARRIER_TIMEOUT_S = 5.0
BARRIER_POLL_S = 0.002
LOCKFILE = '/run/network/.lock'
COMMANDS = ('ifup', 'ifdown', 'ifquery', 'ifreload')


class Refused(Exception):
    def __init__(self, why, fatal):
        super().__init__(why)
        self.why = why
        self.fatal = fatal


# ------------------------------------------------------------------ file descriptors, output

def _take_fds():
    """Moves the protocol off fds 0/1: ifupdown2's children inherit 0-2 (close_fds=False), and
    must neither read our requests nor write into our replies."""
    proto_in = os.dup(0)   # os.dup: not inheritable
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)          # stray output of children: to stderr, as nothing else
    return os.fdopen(proto_in, 'rb'), proto_out


class Proto:
    def __init__(self, fd):
        self.fd = fd
        self.lock = threading.Lock()
        self.current = None  # id of the running request
        self.broken = False  # the reader is gone (node exited): finish the command, then exit

    def send(self, obj):
        data = (json.dumps(obj) + '\n').encode()
        with self.lock:
            if self.broken:
                return
            view = memoryview(data)
            try:
                while view:
                    n = os.write(self.fd, view)
                    view = view[n:]
            except BrokenPipeError:
                # never into ifupdown2's code path: a command half done is worse than unheard
                self.broken = True


class LineForwarder:
    """sys.stdout/sys.stderr: lines written while a request runs become its output (as the
    command's own stdout/stderr would), anything else goes to the real stderr."""

    def __init__(self, proto):
        self.proto = proto
        self.buf = ''
        self.lock = threading.RLock()

    def write(self, s):
        with self.lock:
            self.buf += s
            while '\n' in self.buf:
                line, self.buf = self.buf.split('\n', 1)
                self._emit(line)
        return len(s)

    def _emit(self, line):
        rid = self.proto.current
        if rid is None:
            os.write(2, (line + '\n').encode(errors='replace'))
        else:
            self.proto.send({'id': rid, 'line': line})

    def flush(self):
        pass

    def end_request(self):
        with self.lock:
            if self.buf:
                self._emit(self.buf)
                self.buf = ''

    def isatty(self):
        return False

    def fileno(self):
        return 2


# ------------------------------------------------------------------ /etc/network

def sync_etc(src, conf, dst):
    """dst holds one symlink per entry of src (but `ifupdown2`) plus `ifupdown2` -> conf."""
    want = {}
    if os.path.isdir(src):
        for name in os.listdir(src):
            if name != 'ifupdown2':
                want[name] = os.path.join(src, name)
    want['ifupdown2'] = conf
    for name in os.listdir(dst):
        if name not in want:
            os.unlink(os.path.join(dst, name))
    for name, target in want.items():
        p = os.path.join(dst, name)
        if os.path.islink(p) and os.readlink(p) == target:
            continue
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(target, p)


# ------------------------------------------------------------------ the worker

class Worker:
    def __init__(self, share_dir, etc, proto, out, err):
        self.share = share_dir
        self.etc = etc
        self.proto = proto
        self.out = out
        self.err = err
        self.stale = None  # why the cache cannot be trusted any more
        self.resets = {}
        self.rebound = set()   # 'module.name' globals a reset rebound
        self.replaced = []     # weak references to the objects resets replaced
        self.commands = 0
        self.redumps = 0  # link dumps made to replace unconfirmed entries
        self.settled = 0  # requests on known links waited for within commands (settle)

    def start(self):
        t0 = time.monotonic()
        if self.etc is not None:
            sync_etc(*self.etc)  # before the imports: config paths are resolved at import
        sys.path.insert(0, self.share)
        # the layout the commands use: share dir on sys.path, modules imported without the
        # `ifupdown2.` prefix (that package does not exist here; see check below)
        from lib.log import LogManager
        import ifupdown.config as config
        config.__version__ = __import__('__init__').__version__
        LogManager.get_instance()  # its console handler writes to sys.stderr: our forwarder
        import ifupdown.ifupdownmain as ifupdownmain
        import ifupdown.statemanager as statemanager
        import ifupdown.policymanager as policymanager
        import ifupdown.ifupdownflags as ifupdownflags
        import ifupdown.ifupdownconfig as ifupdownconfig
        from ifupdown.main import Ifupdown2
        from ifupdown.exceptions import ArgvParseError, ArgvParseHelp
        from ifupdownaddons.cache import MSTPAttrsCache
        from lib.status import Status
        from nlmanager.nlpacket import NLM_F_REQUEST
        import lib.nlcache as nlcache
        import nlmanager.nllistener as nllistener

        if 'ifupdown2' in sys.modules or 'ifupdown2' in vars(ifupdownmain):
            raise RuntimeError('unexpected module layout: an `ifupdown2` package is importable')
        if vars(ifupdownmain).get('ifupdown') is not sys.modules['ifupdown']:
            raise RuntimeError('unexpected module layout: ifupdownmain does not see the ifupdown package')
        self.LogManager = LogManager
        self.Ifupdown2 = Ifupdown2
        self.ArgvParseError = ArgvParseError
        self.ArgvParseHelp = ArgvParseHelp
        self.MSTPAttrsCache = MSTPAttrsCache
        self.Status = Status
        self.NLM_F_REQUEST = NLM_F_REQUEST
        for mod, attr in ((statemanager, 'statemanager_api'), (policymanager, 'policymanager_api'),
                          (ifupdownflags, 'flags'), (ifupdownconfig, 'config')):
            self._wrap_reset(mod, attr)
        # count ifupdown2's own resets, to check that each reached all four modules
        orig_reset = ifupdownmain.ifupdownMain.reset_ifupdown2
        self.resets['ifupdownMain'] = 0

        def reset_ifupdown2(main_self):
            self.resets['ifupdownMain'] += 1
            return orig_reset(main_self)

        ifupdownmain.ifupdownMain.reset_ifupdown2 = reset_ifupdown2

        # Watch for errors outside commands (listener thread): lost notifications etc.
        worker = self

        class StaleWatch(logging.Handler):
            def emit(self, record):
                if record.levelno >= logging.ERROR and record.threadName != 'MainThread':
                    worker.stale = worker.stale or 'netlink listener: %s' % record.getMessage()

        logging.getLogger().addHandler(StaleWatch(logging.ERROR))

        self._settle_requests(nlcache.NetlinkListenerWithCache)
        nlcache.NetlinkListenerWithCache.init(logging.WARNING)
        self.nl = nlcache.NetlinkListenerWithCache.get_instance()
        self.nl.start()
        # its handlers only stop the threads; the worker must then die, not serve a dead cache
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

        self.listen_code, self.listen_line = _code_line(nllistener.NetlinkListener.run, 'select(my_sockets')
        self.main_code, self.main_line = _code_line(nlcache.NetlinkListenerWithCache.main, 'self.alarm.wait(')
        self.barrier()
        self.proto.send({'ready': True, 'pid': os.getpid(), 'version': config.__version__,
                         'start_ms': round((time.monotonic() - t0) * 1000)})

    def _wrap_reset(self, mod, attr):
        """mod.reset() replaces mod.<attr>; rebind every module global that still holds the old
        object (e.g. `from ifupdown.statemanager import statemanager_api as statemanager`)."""
        orig = mod.reset
        name = mod.__name__
        self.resets[name] = 0

        def reset():
            old = getattr(mod, attr)
            orig()
            new = getattr(mod, attr)
            for mname, m in list(sys.modules.items()):
                d = getattr(m, '__dict__', None)
                if d is None or m is mod:
                    continue
                for k, v in list(d.items()):
                    if v is old:
                        d[k] = new
                        self.rebound.add('%s.%s' % (mname, k))
            try:
                self.replaced.append(weakref.ref(old))
            except TypeError:
                pass
            self.resets[name] += 1

        mod.reset = reset

    def status(self):
        olds = [o for o in (r() for r in self.replaced) if o is not None]
        self.replaced = [weakref.ref(o) for o in olds]
        leaks = []
        for mname, m in list(sys.modules.items()):
            d = getattr(m, '__dict__', None)
            if d is None:
                continue
            for k, v in list(d.items()):
                if any(v is o for o in olds):
                    leaks.append('%s.%s' % (mname, k))
        return {'commands': self.commands, 'resets': dict(self.resets), 'redumps': self.redumps,
                'settled': self.settled,
                'rebound': sorted(self.rebound), 'leaks': sorted(leaks)}

    def _settle_requests(self, cls):
        """Within a command: after a request that changed a link the cache knew from the kernel,
        wait until the kernel's notification (queued before the ACK) is in the cache.

        ifupdown2 caches the packet it SENT (no IFLA_MTU, ...) on the ACK and goes on; the
        listener and cache threads replace it when they next run. Until then a read of the
        link's MTU gives 0, and a VLAN brought up next takes its raw device's MTU from the
        cache: seen in the kernel tier, a bond's miimon changed and both its VLANs were set to
        MTU 0 (the kernel then drops their IPv4 addresses). New links are left as ifupdown2
        has them (nothing reads a new link's MTU from its upper), so creating many links costs
        no wait. No notification at all (the request changed nothing the kernel reports, or the
        link is down): the links are dumped again. A cache that cannot be brought in sync marks
        the worker stale: this command goes on as ifupdown2 would, the next one is refused."""
        orig = cls.tx_nlpacket_get_response_with_error_and_cache_on_ack
        worker = self

        def tx_and_settle(nl_self, packet):
            name = _ifname_of(packet)
            known = name is not None and worker._from_kernel(nl_self.cache, name)
            result = orig(nl_self, packet)
            if known and threading.current_thread() is threading.main_thread():
                worker.settle(name)
            return result

        cls.tx_nlpacket_get_response_with_error_and_cache_on_ack = tx_and_settle

    def _from_kernel(self, cache, name):
        with cache._cache_lock:
            p = cache._link_cache.get(name)
        return p is not None and not getattr(p, 'priv_flags', 0) & self.NLM_F_REQUEST

    def settle(self, name):
        try:
            self.barrier()
            if name in self.unconfirmed():
                self.nl.get_all_links_wait_netlinkq()
                self.redumps += 1
                self.barrier()
            self.settled += 1
        except Refused as r:
            self.stale = self.stale or 'after a request on %s: %s' % (name, r.why)

    # -------------------------------------------------------------- cache sync

    def barrier(self):
        """Returns once every notification queued before the call is in the cache."""
        nl = self.nl
        listener = nl.listener
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        poller = select.poll()
        poller.register(listener.rx_socket.fileno(), select.POLLIN)
        while True:
            if not listener.is_alive() or nl.worker is None or not nl.worker.is_alive():
                raise Refused('netlink cache threads are not running', True)
            if self.stale is not None:
                raise Refused('netlink cache may be stale: %s' % self.stale, True)
            # order matters: socket drained, then listener back in select (so what it read
            # is queued), then queue serviced, then the cache thread back waiting
            if (not poller.poll(0)
                    and _thread_at(listener, self.listen_code, self.listen_line)
                    and not nl.netlinkq
                    and nl.workq.empty()
                    and _thread_at(nl.worker, self.main_code, self.main_line)):
                return
            if time.monotonic() > deadline:
                raise Refused('netlink notifications keep coming; cache not in sync after %.0f s' % BARRIER_TIMEOUT_S, False)
            time.sleep(BARRIER_POLL_S)

    def check_cache(self):
        c = self.nl.cache
        # per-command bookkeeping that a standalone run drops on exit; a leftover entry would
        # make the cache ignore that link's notifications from now on
        left = list(c._ignore_rtm_newlinkq) + list(c._rtm_newlink_nomasterq)
        if left:
            raise Refused('netlink cache still waits for notifications about %s' % ', '.join(sorted(set(left))), True)
        with c._cache_lock:
            c._ifname_by_ifindex_sysfs = {}
            c._ifindex_by_ifname_sysfs = {}
        self.MSTPAttrsCache.invalidate()
        if self.unconfirmed():
            self.nl.get_all_links_wait_netlinkq()
            self.redumps += 1
            self.barrier()
            left = self.unconfirmed()
            if left:
                raise Refused('netlink cache holds links the kernel never confirmed: %s' % ', '.join(left), True)

    def unconfirmed(self):
        c = self.nl.cache
        with c._cache_lock:
            return sorted(n for n, p in c._link_cache.items() if getattr(p, 'priv_flags', 0) & self.NLM_F_REQUEST)

    # -------------------------------------------------------------- one command

    def run(self, argv):
        self.barrier()
        self.check_cache()
        if self.etc is not None:
            sync_etc(*self.etc)
        before = dict(self.resets)
        fds_before = set(_open_fds())
        code = 0
        try:
            ifupdown2 = self.Ifupdown2(daemon=True, uid=os.geteuid())
            try:
                ifupdown2.parse_argv(argv)
                self.LogManager.get_instance().start_standalone_logging(ifupdown2.args)
            except self.ArgvParseError as e:
                self.LogManager.get_instance().root_logger().error(str(e))
                return self.Status.Client.STATUS_ARGV_ERROR
            except self.ArgvParseHelp:
                return 0
            code = ifupdown2.main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except Exception as e:
            logging.getLogger().exception('main: %s' % str(e))
            code = self.Status.Client.STATUS_EXCEPTION_MAIN
        finally:
            _close_lock_fds(fds_before)
        runs = self.resets['ifupdownMain'] - before['ifupdownMain']
        if any(self.resets[k] - before[k] != runs for k in self.resets):
            # a daemon-mode reset did not reach every module: the next command could see this
            # one's state; serve no more
            self.stale = self.stale or 'ifupdown2 did not reset its state'
        return code

    def serve(self, inp):
        for raw in inp:
            try:
                req = json.loads(raw)
                rid = req['id']
                if req.get('status') is True:
                    self.proto.send({'id': rid, 'status': self.status()})
                    continue
                argv = [str(a) for a in req['argv']]
            except (ValueError, KeyError, TypeError, AttributeError):
                os.write(2, b'ifupdown2-worker: bad request\n')
                return 2
            if not argv or argv[0] not in COMMANDS:
                self.proto.send({'id': rid, 'refused': 'not an ifupdown2 command', 'fatal': False})
                continue
            try:
                self.proto.current = rid
                code = self.run(argv)
            except Refused as r:
                self.proto.current = None
                self.proto.send({'id': rid, 'refused': r.why, 'fatal': r.fatal})
                if r.fatal:
                    return 3
                continue
            finally:
                self.out.end_request()
                self.err.end_request()
                self.proto.current = None
            self.commands += 1
            self.proto.send({'id': rid, 'done': True, 'code': code})
            if self.proto.broken:
                return 0
        return 0


def _ifname_of(packet):
    try:
        v = packet.get_attribute_value(packet.IFLA_IFNAME)
    except Exception:
        return None
    if isinstance(v, bytes):
        v = v.decode(errors='replace')
    return v if isinstance(v, str) and v else None


def _code_line(func, needle):
    import inspect
    lines, start = inspect.getsourcelines(func)
    hits = [start + i for i, l in enumerate(lines) if needle in l]
    if len(hits) != 1:
        raise RuntimeError('cannot find %r in %s (ifupdown2 version not supported)' % (needle, func.__qualname__))
    return func.__code__, hits[0]


def _thread_at(thread, code, line):
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code is code:
            return frame.f_lineno == line
        frame = frame.f_back
    return False


def _open_fds():
    try:
        dfd = os.open('/proc/self/fd', os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return []
    try:
        return [int(n) for n in os.listdir(dfd) if int(n) != dfd]
    finally:
        os.close(dfd)


def _readlink(fd):
    try:
        return os.readlink('/proc/self/fd/%d' % fd)
    except OSError:
        return None


def _close_lock_fds(before):
    """Closes the fds ifupdown2's lockFile() opened during the command (it never does)."""
    try:
        st = os.stat(LOCKFILE)
        ident = (st.st_dev, st.st_ino)
    except OSError:
        ident = None
    if os.environ.get('NODENET_WORKER_DEBUG'):
        os.write(2, ('lockfds before=%s now=%s %s\n' % (sorted(before), _open_fds(), [(fd, _readlink(fd)) for fd in _open_fds()])).encode())
    for fd in _open_fds():
        if fd in before:
            continue
        try:
            target = os.readlink('/proc/self/fd/%d' % fd)
            fst = os.fstat(fd)
        except OSError:
            continue
        if target.startswith(LOCKFILE) or (ident is not None and (fst.st_dev, fst.st_ino) == ident):
            os.close(fd)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write('usage: ifupdown2-worker.py SHARE_DIR [--etc-src DIR --etc-conf DIR --etc-dst DIR]\n')
        return 2
    share = argv[1]
    opts = dict(zip(argv[2::2], argv[3::2]))
    etc = None
    if '--etc-src' in opts:
        etc = (opts['--etc-src'], opts['--etc-conf'], opts['--etc-dst'])
    inp, out_fd = _take_fds()
    proto = Proto(out_fd)
    out = LineForwarder(proto)
    err = LineForwarder(proto)
    sys.stdout = out
    sys.stderr = err
    w = Worker(share, etc, proto, out, err)
    try:
        w.start()
    except Exception as e:
        import traceback
        os.write(2, ('ifupdown2-worker: cannot start: %s\n%s' % (e, traceback.format_exc())).encode(errors='replace'))
        return 1
    return w.serve(inp)


if __name__ == '__main__':
    code = main(sys.argv)
    # the netlink threads are not daemon threads; nothing is left to flush
    os._exit(code)
