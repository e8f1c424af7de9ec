"""Bridge between the .NET interop tests and pymacaroons (Debian's python3-pymacaroons).

Reads one JSON request (a list of operations) on stdin, writes one JSON list of results on stdout.
Every operation is independent; an exception becomes {"error": "..."} so one failure does not hide the others.
"""
import binascii
import json
import sys

import pymacaroons
from pymacaroons import Macaroon, Verifier, MACAROON_V1, MACAROON_V2
from pymacaroons.serializers import BinarySerializer, JsonSerializer
from nacl.secret import SecretBox


def serializer(name):
    return JsonSerializer() if name == "json" else BinarySerializer()


def mint(op):
    version = MACAROON_V2 if op.get("version", 1) == 2 else MACAROON_V1
    m = Macaroon(location=op["location"], identifier=op["identifier"], key=op["key"], version=version)
    for c in op.get("caveats", []):
        m.add_first_party_caveat(c)
    discharges = []
    for t in op.get("third", []):
        nonce = binascii.unhexlify(t["nonce"])
        m.add_third_party_caveat(t["location"], t["key"], t["id"], nonce=nonce)
    for t in op.get("third", []):
        d = Macaroon(location=t["location"], identifier=t["id"], key=t["key"], version=version)
        for c in t.get("caveats", []):
            d.add_first_party_caveat(c)
        discharges.append(m.prepare_for_request(d))
    return {
        "binary": m.serialize(BinarySerializer()),
        "json": m.serialize(JsonSerializer()),
        "signature": m.signature,
        "discharges_binary": [d.serialize(BinarySerializer()) for d in discharges],
        "discharges_json": [d.serialize(JsonSerializer()) for d in discharges],
    }


def verify(op):
    s = serializer(op.get("serializer", "binary"))
    m = Macaroon.deserialize(op["token"], s)
    ds = [Macaroon.deserialize(d, s) for d in op.get("discharges", [])]
    v = Verifier()
    for e in op.get("exact", []):
        v.satisfy_exact(e)
    try:
        ok = v.verify(m, op["key"], discharge_macaroons=ds)
        return {"ok": bool(ok), "signature": m.signature}
    except Exception as e:  # MacaroonInvalidSignatureException, MacaroonUnmetCaveatException, ...
        return {"ok": False, "reason": type(e).__name__ + ": " + str(e), "signature": m.signature}


def reserialize(op):
    s = serializer(op.get("serializer", "binary"))
    m = Macaroon.deserialize(op["token"], s)
    return {"text": m.serialize(s), "signature": m.signature, "version": m.version,
            "caveats": [binascii.hexlify(c.caveat_id_bytes).decode() for c in m.caveats]}


def secretbox(op):
    box = SecretBox(binascii.unhexlify(op["key"]))
    out = box.encrypt(binascii.unhexlify(op["message"]), nonce=binascii.unhexlify(op["nonce"]))
    return {"box": binascii.hexlify(bytes(out)).decode()}


def timing(op):
    import time
    n = int(op.get("iterations", 2000))
    caveats = ["caveat %d = value %d" % (i, i) for i in range(10)]
    key = "this is a benchmark root key, 32b"
    best = {}
    for name in ("mint", "attenuate", "verify"):
        best[name] = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            Macaroon(location="bench", identifier="bench-id", key=key)
        best["mint"] = min(best["mint"], (time.perf_counter() - t0) / n)
        t0 = time.perf_counter()
        for _ in range(n):
            m = Macaroon(location="bench", identifier="bench-id", key=key)
            for c in caveats:
                m.add_first_party_caveat(c)
        best["attenuate"] = min(best["attenuate"], (time.perf_counter() - t0) / n)
        v = Verifier()
        for c in caveats:
            v.satisfy_exact(c)
        t0 = time.perf_counter()
        for _ in range(n):
            v.verify(m, key)
        best["verify"] = min(best["verify"], (time.perf_counter() - t0) / n)
    return {k + "_us": v * 1e6 for k, v in best.items()}


OPS = {"mint": mint, "verify": verify, "reserialize": reserialize, "secretbox": secretbox, "timing": timing}


def main():
    request = json.load(sys.stdin)
    results = []
    for op in request:
        try:
            results.append(OPS[op["op"]](op))
        except Exception as e:
            results.append({"error": type(e).__name__ + ": " + str(e)})
    json.dump({"pymacaroons": getattr(pymacaroons, "__version__", "unknown"), "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
