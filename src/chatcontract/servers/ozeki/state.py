"""Ozeki Chat server state: users, conversations and each user's own mute of a conversation.

No HTTP here: methods take the caller's user id and plain values, return the vendor's objects
(shaped like schemas/ozeki/conversation.schema.json) and raise `OzekiProblem` for failures.

Mute is the calling user's own conversation mute (decision 18): the caller's id
joins the conversation's `mutedby`, and the caller's `properties` entry reads `ismuted: true`.
Another participant's `ismuted` is untouched. A response carries only the caller's `properties`
entry, as every documented example does. Undocumented cases settled here (the spec accepts
either answer): a repeated mute and an unmute of a conversation the caller has not muted succeed
and change nothing; an unknown conversation and one the caller does not take part in are the
same failure ("names no conversation of the caller", the spec's `unknownConversation` example).
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults

DEFAULT_PROPERTIES = {"hideid": "", "listitembackgroundcolor": "#ffffff"}  # the docs' plain entry [OZ-list]
NOT_FOUND = "Conversation not found"
_USER_ID_LISTS = ("participantids", "mutedby", "favoriteby", "hiddenby")


class OzekiProblem(Exception):
    """A failure: `kind` is the x-trigger it corresponds to, `message` goes to `errormessage`."""

    def __init__(self, kind: str, message: str, http: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.http = http  # None: the server's usual code for `kind` (errors.failure)


@dataclass
class Conversation:
    id: str
    isgroup: bool
    name: str
    participants: list[str]
    lastmessageid: str
    lastreportid: str
    lastaccess: int
    secret: str
    instance: str
    mutedby: list[str]
    favoriteby: list[str]
    hiddenby: list[str]
    properties: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_seed(cls, raw: dict[str, Any]) -> "Conversation":
        return cls(
            id=str(raw["id"]), isgroup=bool(raw["isgroup"]), name=str(raw.get("name", "")),
            participants=list(raw["participants"]), lastmessageid=raw["lastmessageid"],
            lastreportid=raw["lastreportid"], lastaccess=int(raw["lastaccess"]), secret=raw["secret"],
            instance=raw["instance"], mutedby=list(raw["mutedby"]), favoriteby=list(raw["favoriteby"]),
            hiddenby=list(raw["hiddenby"]),
            properties={u: {**DEFAULT_PROPERTIES, **(raw.get("properties") or {}).get(u, {})}
                        for u in raw["participants"]},
        )


class OzekiState:
    """Everything the server remembers. Every public method holds the lock for its whole run."""

    def __init__(self, seed: dict[str, Any], clock: Clock, faults: Faults | None = None) -> None:
        self._seed = seed
        self.clock = clock  # nothing here expires; kept for the common server shape
        self.faults = faults or Faults("ozeki")
        self.lock = threading.RLock()
        self.list_errormessage = str(seed.get("list_errormessage", ""))
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.users = {u["userid"]: dict(u) for u in self._seed["users"]}
            self.identity_users = {name: ident["user"] for name, ident in self._seed["identities"].items()}
            self.conversations = {c["id"]: Conversation.from_seed(c) for c in self._seed["conversations"]}

    def user_of(self, identity: str) -> str:
        """The user id an authenticated identity calls as."""
        with self.lock:
            return self.identity_users[identity]

    def any_participant_identity(self) -> str:
        """An identity taking part in some conversation (only `missing-headers-accepted` uses it)."""
        with self.lock:
            return next(name for name, user in self.identity_users.items()
                        if any(user in c.participants for c in self.conversations.values()))

    def _displayname(self, conversation: Conversation, caller: str) -> str:
        # Ozeki returns it encrypted and different on every call ([OZ-mute] vs [OZ-unmute]); a
        # random prefix on the base64 text gives the same observable behaviour.
        if conversation.isgroup:
            name = conversation.name
        else:
            others = [u for u in conversation.participants if u != caller]
            name = self.users[others[0]]["username"] if others else conversation.name
        return base64.b64encode(secrets.token_bytes(6) + name.encode("utf-8")).decode("ascii")

    def _view(self, conversation: Conversation, caller: str) -> dict[str, Any]:
        """The conversation as `caller` sees it (conversation.schema.json)."""
        own = conversation.properties.get(caller, DEFAULT_PROPERTIES)  # a non-participant only under a fault
        shared = self.faults.on("mute-shared-by-all")
        view = {
            "id": conversation.id,
            "isgroup": conversation.isgroup,
            "participantids": list(conversation.participants),
            "participants": [{"userid": u, "username": self.users[u]["username"]} for u in conversation.participants],
            "displayname": self._displayname(conversation, caller),
            "lastmessageid": conversation.lastmessageid,
            "lastreportid": conversation.lastreportid,
            "lastaccess": conversation.lastaccess,
            "secret": conversation.secret,
            "instance": conversation.instance,
            "mutedby": list(conversation.mutedby),
            "favoriteby": list(conversation.favoriteby),
            "hiddenby": list(conversation.hiddenby),
            "properties": [
                {
                    "userid": caller,
                    "ismuted": bool(conversation.mutedby) if shared else caller in conversation.mutedby,
                    "isfavorite": (caller in conversation.favoriteby) != self.faults.on("isfavorite-inverted"),
                    "hideid": own["hideid"],
                    "listitembackgroundcolor": own["listitembackgroundcolor"],
                }
            ],
        }
        # --- tolerated fault hooks (servers/ozeki/faults.yaml); off by default ---
        if self.faults.on("properties-of-every-participant"):
            # Decision 18: `properties` may hold other users' entries; the caller's is not first.
            view["properties"] = [
                {"userid": u, "ismuted": u in conversation.mutedby, "isfavorite": u in conversation.favoriteby,
                 "hideid": conversation.properties[u]["hideid"],
                 "listitembackgroundcolor": conversation.properties[u]["listitembackgroundcolor"]}
                for u in conversation.participants if u != caller
            ] + view["properties"]
        if self.faults.on("uppercase-user-ids"):  # user ids are 32 hex digits of either case
            for key in _USER_ID_LISTS:
                view[key] = [u.upper() for u in view[key]]
            for entry in (*view["participants"], *view["properties"]):
                entry["userid"] = entry["userid"].upper()
        return view

    def _conversation_of(self, caller: str, conversation_id: str) -> Conversation:
        if self.faults.on("crash-on-non-hex-conversationid") and not re.fullmatch("[0-9a-f]{32}", conversation_id):
            # A crash, answered as the app's catch-all would (500), without a traceback in the log.
            raise OzekiProblem("server-error", "Internal error", http=500)
        conversation = self.conversations.get(conversation_id)
        outside = caller not in conversation.participants if conversation else True
        if conversation is not None and outside:
            if self.faults.on("non-participant-may-mute") or self.faults.on("non-participant-answered-ok"):
                return conversation
            if self.faults.on("non-participant-error-as-http-200"):
                raise OzekiProblem("not-found", NOT_FOUND, http=200)
        if conversation is None or outside:
            raise OzekiProblem("not-found", NOT_FOUND)
        return conversation

    def _untouched(self, conversation: Conversation, caller: str) -> bool:
        """Under `non-participant-answered-ok`, a non-participant is answered but changes nothing."""
        return caller not in conversation.participants and self.faults.on("non-participant-answered-ok")

    def list_conversations(self, caller: str) -> list[dict[str, Any]]:
        with self.lock:
            every = self.faults.on("list-shows-every-conversation")
            return [self._view(c, caller) for c in self.conversations.values() if every or caller in c.participants]

    def mute(self, caller: str, conversation_id: str) -> dict[str, Any]:
        with self.lock:
            conversation = self._conversation_of(caller, conversation_id)
            if self._untouched(conversation, caller):
                return self._view(conversation, caller)
            if self.faults.on("mute-not-recorded"):
                claimed = self._view(conversation, caller)  # the answer says muted; nothing is stored
                claimed["mutedby"] = [*(u for u in claimed["mutedby"] if u != caller), caller]
                for entry in claimed["properties"]:
                    if entry["userid"] == caller:
                        entry["ismuted"] = True
                return claimed
            if caller in conversation.mutedby:
                if self.faults.on("repeats-rejected"):
                    raise OzekiProblem("other", "Conversation is already muted")
                if self.faults.on("mute-toggles"):
                    conversation.mutedby.remove(caller)
            elif self.faults.on("mute-stored-for-wrong-user"):
                stored = next(u for u in conversation.participants if u != caller)
                if stored not in conversation.mutedby:
                    conversation.mutedby.append(stored)
            else:
                conversation.mutedby.append(caller)
            return self._view(conversation, caller)

    def unmute(self, caller: str, conversation_id: str) -> dict[str, Any]:
        with self.lock:
            conversation = self._conversation_of(caller, conversation_id)
            if self._untouched(conversation, caller):
                return self._view(conversation, caller)
            if caller not in conversation.mutedby and self.faults.on("repeats-rejected"):
                raise OzekiProblem("other", "Conversation is not muted")
            if self.faults.on("unmute-clears-everyone"):
                conversation.mutedby.clear()
            elif caller in conversation.mutedby and not self.faults.on("unmute-noop"):
                conversation.mutedby.remove(caller)
            return self._view(conversation, caller)
