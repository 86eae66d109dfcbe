"""Load test of the reference servers: concurrent clients doing mixed moderation operations.

Per platform, `--clients` clients (default 50) each do `--ops` operations (default 1,000) as
fast as the server answers, all at once, on loopback: change (mute, block, ignore), undo
(unmute, unblock, unignore) and read (list) operations, mixed at random with a fixed seed.

How the final state is checked against a sequential model: every client owns keys of its own
(a user to mute, its own block list, its own ignore entries, its own conversations), and only
it ever changes them, so whatever order the server interleaves the clients in, each key ends as
its owner's last successful change left it; the model is each client's operations applied in its
own order. Every client also repeats an idempotent change on keys everyone shares (muting users
who stay muted), and reads. Afterwards the state read back through the API must equal the model,
and no answer may be a 5xx. The platforms' seeds are extended (`create_app(seed_path=...)`) with
the users, members and conversations the owned keys need; Agora's rate limit is lifted, since a
rate-limited call changes nothing (Rocket.Chat's admin and Sendbird's master token are exempt).
Rocket.Chat mutes have no read operation in its spec, so they are load-tested for their answers
only; its ignore lists are checked against the model.

Requests are built from each operation's `x-request` in the spec (the suite's `base_call`) and
sent with httpx's async client; the server runs in its own process (uvicorn, as `serve`).

    python bench/load_test.py                                  # full size: 50 x 1,000 per platform
    python bench/load_test.py --platform plugdj --clients 10 --ops 100 --no-write

Writes bench/results/load.json and the Markdown table bench/results/load.md (throughput, p50 and
p99 latency per platform, 5xx count, model check). Exit code 0 when every platform has zero 5xx
and its state equals the model; 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import platform as host_platform
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from chatcontract.servers import create_app
from chatcontract.servers.core.hooks import HOOK_PREFIX
from chatcontract.servers.core.seed import load_seed, target_profile
from chatcontract.suite.wire import Wire, base_call
from chatcontract.targets import Target, from_document

RESULTS_DIR = Path(__file__).resolve().parent / "results"
OWNED_PER_CLIENT = 2
WEIGHTS = {"change": 35, "undo": 30, "read": 20, "shared": 15}  # how often each kind of operation comes
Key = Any
Request = tuple[str, dict[str, Any]]  # (operationId, base_call overrides)


# --- what each platform's keys are, how to change them and how to read them back ------------


class Profile:
    """One platform's load: extend its seed, name the keys, build the calls, read the state."""

    platform: str
    readable_kinds: tuple[str, ...] | None = None  # for keys (kind, ...): the kinds a read shows; None: all

    def extend(self, seed: dict[str, Any], clients: int) -> None:
        """Add to `seed` (in place) what `clients` clients need to own keys of their own."""

    def owned(self, target: Target, client: int) -> list[Key]:
        raise NotImplementedError

    def shared(self, target: Target) -> list[Key]:
        raise NotImplementedError

    def change(self, key: Key) -> Request:
        raise NotImplementedError

    def undo(self, key: Key) -> Request:
        raise NotImplementedError

    def reader(self, target: Target, client: int) -> Any:
        """Who reads the state of `client`'s keys (for most platforms anyone: the list is global)."""
        return None

    def shared_reader(self, target: Target) -> Any:
        """Who reads the shared keys' state (None: they cannot be read back)."""
        return None

    def read(self, reader: Any) -> Request:
        raise NotImplementedError

    def present(self, reader: Any, body: Any) -> set[Key]:
        """The keys a read shows as changed (muted, blocked, ignored)."""
        raise NotImplementedError

    def next_page(self, reader: Any, body: Any) -> Request | None:
        return None


class Plugdj(Profile):
    platform = "plugdj"

    def extend(self, seed: dict[str, Any], clients: int) -> None:
        seed["users"] += [{"id": 7000 + i, "username": f"load_{i}", "role": 0} for i in range(clients * OWNED_PER_CLIENT)]

    def owned(self, target: Target, client: int) -> list[Key]:
        return [7000 + client * OWNED_PER_CLIENT + j for j in range(OWNED_PER_CLIENT)]

    def shared(self, target: Target) -> list[Key]:
        return list(target.fixtures["mutable_users"])

    def change(self, key: Key) -> Request:
        return "plugdjMuteUser", {"body": {"userID": key, "reason": 1, "duration": "l"}}  # 45 min: outlasts the run

    def undo(self, key: Key) -> Request:
        return "plugdjUnmuteUser", {"path": {"userID": key}}

    def shared_reader(self, target: Target) -> Any:
        return "moderator"

    def read(self, reader: Any) -> Request:
        return "plugdjListMutes", {}

    def present(self, reader: Any, body: Any) -> set[Key]:
        return {entry["id"] for entry in body["data"]}


class Agora(Profile):
    platform = "agora"

    def extend(self, seed: dict[str, Any], clients: int) -> None:
        seed["rate_limit"]["calls"] = 10**9
        room = seed["apps"]["moderation"]["chatrooms"][0]
        room["members"] = list(room["members"]) + [f"load{i:04d}" for i in range(clients * OWNED_PER_CLIENT)]

    def owned(self, target: Target, client: int) -> list[Key]:
        return [f"load{client * OWNED_PER_CLIENT + j:04d}" for j in range(OWNED_PER_CLIENT)]

    def shared(self, target: Target) -> list[Key]:
        return list(target.fixtures["members"][:5])

    def change(self, key: Key) -> Request:
        return "agoraMuteChatRoomMembers", {"body": {"usernames": [key], "mute_duration": 86400000}}

    def undo(self, key: Key) -> Request:
        return "agoraUnmuteChatRoomMembers", {"path": {"member": key}}

    def shared_reader(self, target: Target) -> Any:
        return "admin"

    def read(self, reader: Any) -> Request:
        return "agoraListChatRoomMutes", {}

    def present(self, reader: Any, body: Any) -> set[Key]:
        return {entry["user"] for entry in body["data"]}


class Sendbird(Profile):
    """Each client owns one blocker (an id with a non-ASCII letter and a `/`) and its blocks of a few targets."""

    platform = "sendbird"
    TARGETS = ("bob", "carol", "dave", "erin", "zoë.o'brien+qa@example.com", "smith,john")

    def extend(self, seed: dict[str, Any], clients: int) -> None:
        seed["users"] += [{"user_id": self._blocker(i), "nickname": f"Load {i}", "profile_url": "", "is_online": False,
                           "last_seen_at": 0, "metadata": {}} for i in range(clients)]

    @staticmethod
    def _blocker(client: int) -> str:
        return f"lö/{client:03d}"  # a "/" inside an id: one path segment, sent as %2F

    def owned(self, target: Target, client: int) -> list[Key]:
        return [(self._blocker(client), t) for t in self.TARGETS[:OWNED_PER_CLIENT + 1]]

    def shared(self, target: Target) -> list[Key]:
        return [("ivan", "judy"), ("mallory", "judy")]  # seeded blocks: blocking again changes nothing

    def change(self, key: Key) -> Request:
        return "sendbirdBlockUser", {"path": {"user_id": key[0]}, "body": {"target_id": key[1]}}

    def undo(self, key: Key) -> Request:
        return "sendbirdUnblockUser", {"path": {"user_id": key[0], "target_id": key[1]}}

    def reader(self, target: Target, client: int) -> Any:
        return self._blocker(client)

    def shared_reader(self, target: Target) -> Any:
        return "judy"  # her `blocking_me` list shows both shared blocks

    def read(self, reader: Any, token: str | None = None) -> Request:
        which = "blocking_me" if reader == "judy" else "blocked_by_me"
        query = {"list": which, "limit": 2, **({"token": token} if token else {})}  # small pages: paging under load
        return "sendbirdListBlockedUsers", {"path": {"user_id": reader}, "query": query}

    def present(self, reader: Any, body: Any) -> set[Key]:
        if reader == "judy":
            return {(user["user_id"], "judy") for user in body["users"]}
        return {(reader, user["user_id"]) for user in body["users"]}

    def next_page(self, reader: Any, body: Any) -> Request | None:
        return self.read(reader, body["next"]) if body.get("next") else None


class Rocketchat(Profile):
    """The admin (exempt from rate limits) ignores and mutes users of GENERAL; each client owns
    its users. Keys are ("ignore", user id) and ("mute", user id); only ignores can be read back."""

    platform = "rocketchat"
    readable_kinds = ("ignore",)

    def extend(self, seed: dict[str, Any], clients: int) -> None:
        general = next(room for room in seed["rooms"] if room["_id"] == "GENERAL")
        for i in range(clients * OWNED_PER_CLIENT):
            seed["users"].append({"_id": self._user(i), "username": f"load.user{i}", "name": f"Load {i}", "roles": ["user"]})
            general["members"].append({"sub": f"LoadSub{i:05d}xxxxx", "user": self._user(i)})

    @staticmethod
    def _user(index: int) -> str:
        return f"LoadUser{index:05d}xxxx"  # 17 characters, like Rocket.Chat ids

    def owned(self, target: Target, client: int) -> list[Key]:
        users = [self._user(client * OWNED_PER_CLIENT + j) for j in range(OWNED_PER_CLIENT)]
        return [(kind, user) for user in users for kind in ("ignore", "mute")]

    def shared(self, target: Target) -> list[Key]:
        return [("mute", target.fixtures["member_user"])]

    def change(self, key: Key) -> Request:
        kind, user = key
        if kind == "ignore":
            return "rocketchatIgnoreUser", {"query": {"userId": user, "ignore": "true"}}
        return "rocketchatMuteUser", {"body": {"roomId": "GENERAL", "userId": user}}

    def undo(self, key: Key) -> Request:
        kind, user = key
        if kind == "ignore":
            return "rocketchatIgnoreUser", {"query": {"userId": user, "ignore": "false"}}
        return "rocketchatUnmuteUser", {"body": {"roomId": "GENERAL", "userId": user}}

    def read(self, reader: Any) -> Request:
        return "rocketchatGetSubscription", {"query": {"roomId": "GENERAL"}}

    def present(self, reader: Any, body: Any) -> set[Key]:
        return {("ignore", user) for user in (body["subscription"] or {}).get("ignored", [])}


class Ozeki(Profile):
    """Each client is an Ozeki user of its own (an identity with its header triple) with two
    conversations; its keys are its own mutes of them (a mute is per user)."""

    platform = "ozeki"

    def extend(self, seed: dict[str, Any], clients: int) -> None:
        admin = seed["identities"]["other_participant"]["user"]
        template = dict(seed["conversations"][0])
        for c in range(clients):
            user = self._md5(f"load{c}@example.com")
            seed["users"].append({"userid": user, "email": f"load{c}@example.com", "username": f"Load {c}"})
            seed["identities"][self._identity(c)] = {"user": user, "credentials": {
                "ozekiSignature": f"load-signature-{c}", "ozekiStation": self._md5(f"station{c}"), "ozekiUser": user}}
            for j in range(OWNED_PER_CLIENT):
                seed["conversations"].append({**template, "id": self._conversation(c, j), "participants": [user, admin],
                                              "mutedby": [], "favoriteby": [], "hiddenby": [], "properties": {}})

    @staticmethod
    def _md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    @staticmethod
    def _identity(client: int) -> str:
        return f"load{client}"

    def _conversation(self, client: int, index: int) -> str:
        return self._md5(f"conversation-{client}-{index}")

    def owned(self, target: Target, client: int) -> list[Key]:
        return [(self._identity(client), self._conversation(client, j)) for j in range(OWNED_PER_CLIENT)]

    def shared(self, target: Target) -> list[Key]:
        return [("other_participant", target.fixtures["muted_conversation"])]  # muted at start, stays muted

    @staticmethod
    def _action(identity: str, action: str, **extra: Any) -> Request:
        return "ozekiConversation", {"as": identity, "body": {"action": action, "clientversioncode": 3,
                                                              "timestamp": "2024-03-11 07:39:08", **extra}}

    def change(self, key: Key) -> Request:
        return self._action(key[0], "mute", conversationid=key[1])

    def undo(self, key: Key) -> Request:
        return self._action(key[0], "unmute", conversationid=key[1])

    def reader(self, target: Target, client: int) -> Any:
        return self._identity(client), self._md5(f"load{client}@example.com")

    def shared_reader(self, target: Target) -> Any:
        return "other_participant", target.fixtures["user_ids"]["other_participant"]

    def read(self, reader: Any) -> Request:
        return self._action(reader[0], "list")

    def present(self, reader: Any, body: Any) -> set[Key]:
        identity, user = reader
        return {(identity, c["id"]) for c in body["conversations"] if user in c["mutedby"]}


PROFILES: dict[str, Profile] = {p.platform: p for p in (Agora(), Ozeki(), Plugdj(), Rocketchat(), Sendbird())}


# --- running the servers ------------------------------------------------------------------------


def extended_seed(platform: str, clients: int, directory: Path) -> Path:
    seed = load_seed(platform)
    PROFILES[platform].extend(seed, clients)
    path = directory / f"{platform}.load-seed.yaml"
    path.write_text(yaml.safe_dump(seed, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _uvicorn(platform: str, seed_path: Path, faults: tuple[str, ...] = ()) -> uvicorn.Server:
    app = create_app(platform, test_hooks=True, seed_path=seed_path, faults=faults)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    return server


def _serve_and_report(platform: str, seed_path: str, port_out: Any) -> None:
    server = _uvicorn(platform, Path(seed_path))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port_out.put(server.servers[0].sockets[0].getsockname()[1])
    thread.join()


class ServerProcess:
    """A reference server with the given seed in a process of its own (as `chatcontract serve`)."""

    def __init__(self, platform: str, seed_path: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self._ports = context.Queue()
        self._process = context.Process(target=_serve_and_report, args=(platform, str(seed_path), self._ports), daemon=True)

    def __enter__(self) -> str:
        self._process.start()
        return f"http://127.0.0.1:{self._ports.get(timeout=60)}"

    def __exit__(self, *_: object) -> None:
        self._process.terminate()
        self._process.join(timeout=10)


class ServerThread:
    """The same server in a thread of this process (for the bounded test: no start-up cost)."""

    def __init__(self, platform: str, seed_path: Path, faults: tuple[str, ...] = ()) -> None:
        self._server = _uvicorn(platform, seed_path, faults)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the reference server did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self._server.servers[0].sockets[0].getsockname()[1]}"

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


# --- the load itself ------------------------------------------------------------------------


@dataclass
class Outcome:
    platform: str
    clients: int
    ops_per_client: int
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)  # answers other than 2xx to our changes and reads
    mismatches: list[str] = field(default_factory=list)  # where the state read back differs from the model
    checked_keys: int = 0
    resent: int = 0  # requests sent again after a broken keep-alive connection

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def ok(self) -> bool:
        return self.server_errors == 0 and not self.unexpected and not self.mismatches

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        total = len(ordered)
        return {
            "platform": self.platform, "clients": self.clients, "ops_per_client": self.ops_per_client,
            "requests": total, "wall_s": round(self.wall_s, 2),
            "throughput_rps": round(total / self.wall_s, 1) if self.wall_s else 0.0,
            "p50_ms": round(statistics.median(ordered), 2) if ordered else None,
            "p99_ms": round(ordered[min(total - 1, int(total * 0.99))], 2) if ordered else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_errors": self.server_errors, "unexpected": self.unexpected[:20],
            "model_checked_keys": self.checked_keys, "mismatches": self.mismatches[:20], "resent": self.resent,
            "ok": self.ok,
        }


class Sender:
    """Builds a call from the spec's x-request and sends it with the async client."""

    def __init__(self, target: Target, client: httpx.AsyncClient, outcome: Outcome) -> None:
        self._wire = Wire(target)  # used for building requests only (credentials from the spec)
        self._wire.close()
        self.target = target
        self._client = client
        self._outcome = outcome
        self._built: dict[str, tuple[str, str, dict[str, str], bytes | None]] = {}

    def _build(self, request: Request) -> tuple[str, str, dict[str, str], bytes | None]:
        """The request on the wire, built once per distinct request (keeps the client's CPU low)."""
        key = json.dumps(request, sort_keys=True, default=str)
        if key not in self._built:
            operation_id, overrides = request
            prepared = self._wire.prepare(base_call(self.target, operation_id, **json.loads(json.dumps(overrides))))
            headers = dict(prepared.headers)
            if prepared.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in prepared.cookies.items())
            self._built[key] = (prepared.method, prepared.url, headers, prepared.content)
        return self._built[key]

    async def send(self, request: Request, *, timed: bool = True) -> tuple[int, Any]:
        method, url, headers, content = self._build(request)
        started = time.perf_counter()
        try:
            response = await self._client.request(method, url, headers=headers, content=content)
        except httpx.TransportError:
            # A keep-alive connection the server closed as it was reused (uvicorn closes idle ones
            # after 5 s): sent again once on a new connection, as clients do. Every operation here
            # is idempotent in what the model tracks (muted or not), so a repeat changes nothing.
            self._outcome.resent += 1
            response = await self._client.request(method, url, headers=headers, content=content)
        if timed:
            self._outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
            self._outcome.statuses[response.status_code] = self._outcome.statuses.get(response.status_code, 0) + 1
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body


async def _read_state(profile: Profile, sender: Sender, reader: Any) -> set[Key]:
    """Everything one reader sees as changed, all pages."""
    found: set[Key] = set()
    request: Request | None = profile.read(reader)
    while request is not None:
        status, body = await sender.send(request, timed=False)
        if status != 200:
            raise RuntimeError(f"{profile.platform}: reading the state answered {status}")
        found |= profile.present(reader, body)
        request = profile.next_page(reader, body)
    return found


async def _one_client(profile: Profile, sender: Sender, client: int, ops: int, seed: int,
                      model: dict[Key, bool], outcome: Outcome) -> None:
    rng = random.Random(seed * 1_000_003 + client)
    owned = profile.owned(sender.target, client)
    shared = profile.shared(sender.target)
    reader = profile.reader(sender.target, client)
    kinds, weights = zip(*WEIGHTS.items())
    for _ in range(ops):
        kind = rng.choices(kinds, weights)[0]
        key = rng.choice(shared if kind == "shared" else owned)
        if kind == "read":
            request = profile.read(reader)
        else:
            request = profile.undo(key) if kind == "undo" else profile.change(key)
        status, _ = await sender.send(request)
        if not 200 <= status < 300:
            outcome.unexpected.append(f"client {client}: {kind} {key!r} answered {status}")
        elif kind in ("change", "undo"):
            model[key] = kind == "change"  # this client alone changes this key: its last answer decides


def _readable(profile: Profile, key: Key) -> bool:
    return profile.readable_kinds is None or key[0] in profile.readable_kinds


async def run_load(profile: Profile, target: Target, *, clients: int, ops: int, seed: int = 0) -> Outcome:
    """`clients` clients doing `ops` operations each against `target`, then the model check."""
    outcome = Outcome(profile.platform, clients, ops)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        sender = Sender(target, client, outcome)
        model: dict[Key, bool] = {}
        owner: dict[Key, int] = {}
        for c in range(clients):  # the model starts from the state read back before the load
            before = await _read_state(profile, sender, profile.reader(target, c))
            for key in profile.owned(target, c):
                model[key], owner[key] = key in before, c
        started = time.perf_counter()
        await asyncio.gather(*(_one_client(profile, sender, c, ops, seed, model, outcome) for c in range(clients)))
        outcome.wall_s = time.perf_counter() - started
        after = {c: await _read_state(profile, sender, profile.reader(target, c)) for c in range(clients)}
        shared_reader = profile.shared_reader(target)
        shared_after = await _read_state(profile, sender, shared_reader) if shared_reader is not None else None
    for key, expected in model.items():
        if not _readable(profile, key):
            continue
        outcome.checked_keys += 1
        actual = key in after[owner[key]]
        if actual != expected:
            outcome.mismatches.append(f"{key!r}: the model says {'on' if expected else 'off'}, the server {'on' if actual else 'off'}")
    if shared_after is not None:
        for key in profile.shared(target):
            outcome.checked_keys += 1
            if key not in shared_after:
                outcome.mismatches.append(f"shared {key!r}: changed by every client, yet off")
    return outcome


def load_target(platform: str, base_url: str, seed_path: Path) -> Target:
    """The target document of a server started from `seed_path` (all its identities)."""
    seed = yaml.safe_load(seed_path.read_text(encoding="utf-8"))
    document = {"api": platform, "base_url": base_url, **target_profile(seed),
                "capabilities": {"reset": True, "clock": True, "hooks_path": HOOK_PREFIX}}
    return from_document(document, where=f"load seed {platform}", default_name=platform)


def run_platform(platform: str, *, clients: int, ops: int, seed: int = 0, in_thread: bool = False,
                 faults: tuple[str, ...] = ()) -> Outcome:
    """Start the platform's server (own process, or a thread, optionally with faults from its
    faults.yaml), load it, check it, stop it."""
    with tempfile.TemporaryDirectory(prefix="chatcontract-load-") as scratch:
        seed_path = extended_seed(platform, clients, Path(scratch))
        server = ServerThread(platform, seed_path, faults) if in_thread or faults else ServerProcess(platform, seed_path)
        with server as base_url:
            return asyncio.run(run_load(PROFILES[platform], load_target(platform, base_url, seed_path),
                                        clients=clients, ops=ops, seed=seed))


# --- the report ---------------------------------------------------------------------------------


def markdown(rows: list[dict[str, Any]], command: str, machine: str) -> str:
    lines = [f"Reference servers under load: `{command}`", "", machine, "",
             "| platform | clients x ops | requests | wall (s) | throughput (req/s) | p50 (ms) | p99 (ms) | 5xx | resent | state = model |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        verdict = f"yes ({r['model_checked_keys']} keys)" if not r["mismatches"] and not r["unexpected"] else "NO"
        lines.append(f"| {r['platform']} | {r['clients']} x {r['ops_per_client']} | {r['requests']} | {r['wall_s']} | "
                     f"{r['throughput_rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['server_errors']} | {r['resent']} | {verdict} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", action="append", choices=sorted(PROFILES), help="(repeatable; default: all)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--ops", type=int, default=1000, help="operations per client")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print the table, do not write bench/results/")
    args = parser.parse_args(argv)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    for platform in args.platform or sorted(PROFILES):
        outcome = run_platform(platform, clients=args.clients, ops=args.ops, seed=args.seed)
        rows.append(outcome.summary())
        print(f"{platform:<11} {rows[-1]['throughput_rps']:>8} req/s  p99 {rows[-1]['p99_ms']} ms  "
              f"5xx {rows[-1]['server_errors']}  {'ok' if outcome.ok else 'NOT OK: ' + '; '.join((outcome.unexpected + outcome.mismatches)[:3])}",
              flush=True)
    command = "python bench/load_test.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    machine = (f"{os.cpu_count()} cores, Python {host_platform.python_version()}, {host_platform.system()}; "
               f"server: uvicorn in its own process; clients: httpx async, one process (on 2 cores the client, "
               f"not the server, is the busier process); load average (1, 5, 15 min) before: {load_before}, "
               f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    table = markdown(rows, command.strip(), machine)
    print(table)
    if not args.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "load.md").write_text(table, encoding="utf-8")
        (RESULTS_DIR / "load.json").write_text(json.dumps({"command": command.strip(), "machine": machine, "platforms": rows},
                                                          indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
