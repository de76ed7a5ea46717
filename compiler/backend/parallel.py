"""The native thread pool compiled code splits its loops across.

A graph's entry runs its steps in order; a step big enough to pay for
waking other cores calls

    void jitgrad_parallel_for(ptr task, ptr ctx, i64 n)

which runs `task(ctx, i)` for every i in [0, n), each exactly once, on the
calling thread and the pool's workers, and returns when all are done. Tasks
are handed out by one atomic counter, so a slow core takes fewer of them.

The workers are threads the runtime starts (runtime/threads.py): each calls
`jitgrad_worker(id)`, which never returns. It sleeps on a condition variable
until a job is posted, joins it if its id is below the pool's limit (the
thread count the user asked for, minus the caller) and tasks are left,
takes tasks until none are, and leaves. Between jobs a worker polls a
while before it sleeps, as OpenMP runtimes do, first pausing, then yielding
the CPU (see SPINS), and the caller polls before it waits for the last
worker: the next step of a graph often posts within that time. The caller,
after taking tasks itself, waits until every worker that joined has left,
so no worker can still be reading the caller's `ctx` (a stack array) when
it returns, and a worker late to one job can never take a task of the next
one.

Posting a job is guarded by a second mutex taken with trylock: while one
caller (another Python thread, or a task that calls parallel_for) holds
the pool, any other caller runs its tasks inline, so nothing ever waits on
the pool from inside it. Locks and condition variables are libc's pthreads,
resolved against the running process like libm's functions are."""
from __future__ import annotations

import llvmlite.ir as ir

from runtime.host import identity

from . import types
from .loops import I64, const, for_range

PARALLEL_FOR = "jitgrad_parallel_for"
WORKER = "jitgrad_worker"
SET_LIMIT = "jitgrad_pool_set_limit"
INIT = "jitgrad_pool_init"
TASK_TYPE = ir.FunctionType(ir.VoidType(), [types.PTR, I64])
PARALLEL_FOR_TYPE = ir.FunctionType(ir.VoidType(), [types.PTR, types.PTR, I64])

# An idle worker polls for the next job SPINS times with a pause between
# polls (~10-40 ns on x86), then YIELDS times with sched_yield between them,
# which hands the core to any thread that wants it (ours included, when a
# busy machine put both on one core), and only then sleeps on the condvar,
# whose wakeup costs the next job ~10 us. The large MLP step (the counts
# changed in one process, 12 rounds, medians): idle 2.84 / 2.70 / 2.60 ms at
# 1024 / 4096 / 16384 pause polls, 2.66 at 4096 + 200 yields; with another
# process spinning on one core 4.70 / 4.35 / 5.19 ms, and 4096 + 200 yields
# 4.85 against 5.11 for 4096 alone in that round. Longer pausing takes the
# core from the thread it waits for; yielding does not.
SPINS = 4096
YIELDS = 200
_SYNC_BYTES = 128  # room for any libc's pthread_mutex_t / pthread_cond_t (glibc: 40 / 48)
_SYNC = ir.ArrayType(ir.IntType(8), _SYNC_BYTES)
_LINE = ir.ArrayType(ir.IntType(8), 64)
# mutex, wake (job posted), done (last worker left), busy (a caller holds the pool),
# then the job under `mutex`, then the task counter on its own cache line.
_FIELDS = ["mutex", "wake", "done", "busy", "generation", "task", "ctx", "n", "active", "limit", "pad", "next"]
_POOL = ir.LiteralStructType([_SYNC] * 4 + [I64, types.PTR, types.PTR, I64, I64, I64, _LINE, I64])


def module() -> ir.Module:
    """The pool's state (one per process: the library is loaded once) and its functions."""
    m = ir.Module("jitgrad_parallel")
    pool = ir.GlobalVariable(m, _POOL, "jitgrad_pool")
    pool.initializer = ir.Constant(_POOL, None)  # zeros: glibc's static initializers
    pool.align = 64
    pool.linkage = "internal"
    _Pool(m, pool).define()
    return m


class _Pool:
    def __init__(self, m: ir.Module, pool):
        self.m, self.pool = m, pool
        declare = lambda name, *args: ir.Function(m, ir.FunctionType(types.I32, list(args)), name)  # noqa: E731
        self.lock = declare("pthread_mutex_lock", types.PTR)
        self.unlock = declare("pthread_mutex_unlock", types.PTR)
        self.trylock = declare("pthread_mutex_trylock", types.PTR)
        self.wait = declare("pthread_cond_wait", types.PTR, types.PTR)
        self.broadcast = declare("pthread_cond_broadcast", types.PTR)
        self.mutex_init = declare("pthread_mutex_init", types.PTR, types.PTR)
        self.cond_init = declare("pthread_cond_init", types.PTR, types.PTR)
        self.yield_cpu = declare("sched_yield")

    def field(self, b, name):
        return b.gep(self.pool, [const(0), ir.Constant(types.I32, _FIELDS.index(name))], inbounds=True,
                     source_etype=_POOL)

    def get(self, b, name, typ=I64):
        return b.load_atomic(self.field(b, name), "monotonic", 8, typ=typ)

    def put(self, b, name, value):
        # an atomic store (llvmlite's store_atomic wants typed pointers); a few per job
        b.atomic_rmw("xchg", self.field(b, name), value, "monotonic")

    def define(self):
        self._run_tasks()
        self._worker()
        self._parallel_for()
        self._set_limit()
        self._init()

    def _run_tasks(self):
        """Take tasks from the counter until none are left: `void run(ptr task, ptr ctx, i64 n)`."""
        fn = self.run = ir.Function(self.m, PARALLEL_FOR_TYPE, "run_tasks")
        fn.linkage = "internal"
        task, ctx, n = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        take = fn.append_basic_block("take")
        done = fn.append_basic_block("done")
        b.branch(take)
        b.position_at_end(take)
        i = b.atomic_rmw("add", self.field(b, "next"), const(1), "acq_rel")
        body = fn.append_basic_block("body")
        b.cbranch(b.icmp_signed("<", i, n), body, done)
        b.position_at_end(body)
        b.call(types.FunctionPointer(task, TASK_TYPE), [ctx, i])
        b.branch(take)
        b.position_at_end(done)
        b.ret_void()

    def _worker(self):
        fn = ir.Function(self.m, ir.FunctionType(ir.VoidType(), [I64]), WORKER)
        (worker_id,) = fn.args
        blocks = ("entry", "check", "idle", "poll", "spin", "wait", "join")
        entry, check, idle, poll, spin, wait, join = (fn.append_basic_block(n) for n in blocks)
        yes, no = ir.Constant(types.I1, 1), ir.Constant(types.I1, 0)
        b = ir.IRBuilder(entry)
        mutex = self.field(b, "mutex")
        b.call(self.lock, [mutex])
        b.branch(check)
        # check, holding the mutex: `seen` is the last generation looked at,
        # `spun` whether polling for a newer one has already timed out
        b.position_at_end(check)
        seen, spun = b.phi(I64, "seen"), b.phi(types.I1, "spun")
        seen.add_incoming(const(0), entry)
        spun.add_incoming(yes, entry)
        generation = self.get(b, "generation")
        new = b.icmp_unsigned("!=", generation, seen)
        wanted = b.and_(b.icmp_signed("<", worker_id, self.get(b, "limit")),
                        b.icmp_signed("<", self.get(b, "next"), self.get(b, "n")))
        b.cbranch(b.and_(new, wanted), join, idle)

        b.position_at_end(idle)  # a job not joined is still seen
        b.cbranch(new, check, poll)
        seen.add_incoming(generation, idle)
        spun.add_incoming(no, idle)
        b.position_at_end(poll)  # nothing new: poll a while, then wait
        b.cbranch(spun, wait, spin)
        b.position_at_end(spin)
        b.call(self.unlock, [mutex])
        self._spin(fn, b, lambda: b.icmp_unsigned("!=", self.get(b, "generation"), seen))
        self._spin(fn, b, lambda: b.icmp_unsigned("!=", self.get(b, "generation"), seen), YIELDS, yielding=True)
        b.call(self.lock, [mutex])
        seen.add_incoming(seen, b.block)
        spun.add_incoming(yes, b.block)
        b.branch(check)
        b.position_at_end(wait)
        b.call(self.wait, [self.field(b, "wake"), mutex])
        seen.add_incoming(seen, wait)
        spun.add_incoming(yes, wait)
        b.branch(check)

        b.position_at_end(join)
        self.put(b, "active", b.add(self.get(b, "active"), const(1)))
        task, ctx, n = self.get(b, "task", types.PTR), self.get(b, "ctx", types.PTR), self.get(b, "n")
        b.call(self.unlock, [mutex])
        b.call(self.run, [task, ctx, n])
        b.call(self.lock, [mutex])
        left = b.sub(self.get(b, "active"), const(1))
        self.put(b, "active", left)
        with b.if_then(b.icmp_signed("==", left, const(0))):
            b.call(self.broadcast, [self.field(b, "done")])
        seen.add_incoming(generation, b.block)
        spun.add_incoming(no, b.block)
        b.branch(check)

    def _spin(self, fn, b: ir.IRBuilder, until, polls=SPINS, yielding=False):
        """Poll `until()` (atomic loads, an i1) up to `polls` times, pausing
        between polls, or giving the CPU to any other thread that wants it
        (`yielding`)."""
        before = b.block
        head, body, out = (fn.append_basic_block(f"spin.{n}") for n in ("head", "body", "out"))
        b.branch(head)
        b.position_at_end(head)
        i = b.phi(I64, "polls")
        i.add_incoming(const(0), before)
        b.cbranch(b.or_(until(), b.icmp_signed(">=", i, const(polls))), out, body)
        b.position_at_end(body)
        if yielding:
            b.call(self.yield_cpu, [])
        elif identity()["triple"].startswith(("x86_64", "i686", "i386")):
            pause = self.m.globals.get("llvm.x86.sse2.pause") or \
                ir.Function(self.m, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            b.call(pause, [])
        i.add_incoming(b.add(i, const(1)), body)
        b.branch(head)
        b.position_at_end(out)

    def _parallel_for(self):
        fn = ir.Function(self.m, PARALLEL_FOR_TYPE, PARALLEL_FOR)
        task, ctx, n = fn.args
        entry, post, inline = (fn.append_basic_block(n) for n in ("entry", "post", "inline"))
        b = ir.IRBuilder(entry)
        worth = b.and_(b.icmp_signed(">", n, const(1)), b.icmp_signed(">", self.get(b, "limit"), const(0)))
        try_post = fn.append_basic_block("try_post")
        b.cbranch(worth, try_post, inline)
        b.position_at_end(try_post)
        busy = self.field(b, "busy")
        b.cbranch(b.icmp_signed("==", b.call(self.trylock, [busy]), ir.Constant(types.I32, 0)), post, inline)

        b.position_at_end(post)
        mutex = self.field(b, "mutex")
        b.call(self.lock, [mutex])
        for name, value in (("task", task), ("ctx", ctx), ("n", n), ("next", const(0))):
            self.put(b, name, value)
        self.put(b, "generation", b.add(self.get(b, "generation"), const(1)))
        b.call(self.broadcast, [self.field(b, "wake")])
        b.call(self.unlock, [mutex])
        b.call(self.run, [task, ctx, n])
        self._spin(fn, b, lambda: b.icmp_signed("==", self.get(b, "active"), const(0)))
        b.call(self.lock, [mutex])
        wait_head, wait, finished = (fn.append_basic_block(n) for n in ("wait_head", "wait", "finished"))
        b.branch(wait_head)
        b.position_at_end(wait_head)
        b.cbranch(b.icmp_signed("==", self.get(b, "active"), const(0)), finished, wait)
        b.position_at_end(wait)
        b.call(self.wait, [self.field(b, "done"), mutex])
        b.branch(wait_head)
        b.position_at_end(finished)
        b.call(self.unlock, [mutex])
        b.call(self.unlock, [busy])
        b.ret_void()

        b.position_at_end(inline)
        with for_range(b, n) as i:
            b.call(types.FunctionPointer(task, TASK_TYPE), [ctx, i])
        b.ret_void()

    def _set_limit(self):
        """How many workers may join a job (the thread count minus the caller)."""
        fn = ir.Function(self.m, ir.FunctionType(ir.VoidType(), [I64]), SET_LIMIT)
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        mutex = self.field(b, "mutex")
        b.call(self.lock, [mutex])
        self.put(b, "limit", fn.args[0])
        b.call(self.unlock, [mutex])
        b.ret_void()

    def _init(self):
        """A fresh pool with no job and no workers allowed: before the first
        worker starts, and again in a forked child, whose copy of the locks
        may be held by threads that do not exist there."""
        fn = ir.Function(self.m, ir.FunctionType(ir.VoidType(), []), INIT)
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        b.store(ir.Constant(_POOL, None), self.pool)
        null = ir.Constant(types.PTR, None)
        for name, init in (("mutex", self.mutex_init), ("busy", self.mutex_init),
                           ("wake", self.cond_init), ("done", self.cond_init)):
            b.call(init, [self.field(b, name), null])
        b.ret_void()
