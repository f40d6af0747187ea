"""`distcheck-host serve | install | list | start | stop | image-setup`.

`serve` runs the host; the other commands talk to a running host over HTTP (`--url`, default
http://127.0.0.1:8765). Exit codes: 0 ok, 1 the host refused (its error code is printed), 2 bad
usage or configuration, 3 the host could not be reached.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8765"


def _build_parser() -> argparse.ArgumentParser:
    from .config import KEYS

    parser = argparse.ArgumentParser(prog="distcheck-host", description="distcheck reference extension host.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the host (HTTP API, wheel extensions, archive agent)",
                           description="Run the host until SIGTERM or SIGINT. Options override environment "
                                       "(DISTCHECK_HOST_<KEY>), then the --config file, then defaults.")
    serve.add_argument("--config", metavar="PATH", help="TOML configuration file (default: $DISTCHECK_HOST_CONFIG, "
                                                       "else /etc/distcheck-host/config.toml when it exists)")
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    for key in KEYS:
        flag = "--" + key.name.replace("_", "-")
        kind = {"int": int, "float": float, "str": str, "list": str, "bool": str}[key.kind]
        default = ",".join(key.default) if key.kind == "list" else key.default
        serve.add_argument(flag, dest=key.name, type=kind, default=None,
                           help=f"{key.help} (default: {default!r}{', comma-separated' if key.kind == 'list' else ''})")

    def client(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--url", default=os.environ.get("DISTCHECK_HOST_URL", DEFAULT_URL),
                             help=f"base URL of the running host (default: {DEFAULT_URL}, or $DISTCHECK_HOST_URL)")
        command.add_argument("--json", action="store_true", help="print the host's JSON answer")
        return command

    install = client("install", "install an archive extension (.tar.gz, .tgz, .zip) into the running host")
    install.add_argument("source", nargs="?", help="archive path or URL (a path is made absolute)")
    install.add_argument("--sha256", help="SHA-256 of the archive (required with SOURCE)")
    install.add_argument("--candidate", action="append", default=[], metavar="SOURCE=SHA256",
                         help="a platform candidate (repeatable); the host picks its platform or universal")
    install.add_argument("--id", dest="ext_id", help="extension id (default: derived by the host)")

    sub.add_parser("image-setup", help="check the build settings (run once by the image build)",
                   description="Run once by the image build after the host is installed: checks that the build "
                               "file (/etc/distcheck-host/build.toml) is valid, so a bad one fails the build.")

    client("list", "list installed archive extensions and their state")
    for name, text in (("start", "start an installed archive extension"), ("stop", "stop a running archive extension")):
        command = client(name, text)
        command.add_argument("ext_id", metavar="ID", help="extension id, e.g. acme.sensor-monitor")
    return parser


def _source(text: str) -> str:
    return text if "://" in text else os.path.abspath(text)


def _request(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, {"error": {"code": "http_error", "message": f"HTTP {exc.code} {exc.reason}"}}


def _client(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import urllib.error

    if args.command == "install":
        if args.candidate:
            candidates = []
            for item in args.candidate:
                source, sep, digest = item.rpartition("=")
                if not sep or not source:
                    parser.error(f"--candidate {item!r} must look like SOURCE=SHA256")
                candidates.append({"source": _source(source), "sha256": digest})
            body: dict[str, Any] = {"candidates": candidates}
        elif args.source and args.sha256:
            body = {"source": _source(args.source), "sha256": args.sha256}
        else:
            parser.error("install needs SOURCE with --sha256, or one or more --candidate SOURCE=SHA256")
        if args.ext_id:
            body["id"] = args.ext_id
        call = ("POST", "/api/agent/install", body)
    elif args.command == "list":
        call = ("GET", "/api/agent/extensions", None)
    else:
        call = ("POST", f"/api/agent/extensions/{args.ext_id}/{args.command}", None)
    try:
        status, answer = _request(args.url, *call)
    except (urllib.error.URLError, OSError) as exc:
        print(f"distcheck-host: cannot reach the host at {args.url}: {getattr(exc, 'reason', exc)}. "
              "Is `distcheck-host serve` running there?", file=sys.stderr)
        return 3
    if status >= 400:
        error = (answer or {}).get("error", {}) if isinstance(answer, dict) else {}
        print(f"distcheck-host: {error.get('code', status)}: {error.get('message', answer)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2))
    elif args.command == "list":
        if not answer:
            print("no archive extensions installed")
        for item in answer:
            pid = f" pid {item['pid']}" if item.get("pid") else ""
            exit_info = f" exit {item['exit']}" if item.get("exit") else ""
            print(f"{item['id']} {item['version']} {item['state']}{pid}{exit_info}")
    else:
        pid = f" pid {answer['pid']}" if answer.get("pid") else ""
        print(f"{answer['id']} {answer['version']} {answer['state']}{pid}")
    return 0


def _image_setup() -> int:
    from .config import read_build_file
    from .errors import HostError

    try:
        build = read_build_file()  # a bad build file fails the image build, not the first test
    except HostError as exc:
        print(f"distcheck-host: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    mutant = build.get("mutant")
    print(f"distcheck-host image set up{f' (mutant {mutant})' if mutant else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "image-setup":
        return _image_setup()
    if args.command != "serve":
        return _client(args, parser)

    from .config import KEYS, load_config
    from .errors import HostError

    logging.basicConfig(stream=sys.stderr, level=getattr(logging, args.log_level),
                        format="%(asctime)s distcheck-host[%(process)d] %(levelname)s %(name)s: %(message)s")
    cli_values = {key.name: getattr(args, key.name) for key in KEYS}
    try:
        config = load_config(cli=cli_values, config_file=args.config)
    except HostError as exc:
        print(f"distcheck-host: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    from .server import serve

    code = serve(config)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # daemon threads (handlers, watchers) must not delay the exit HST-03 bounds


if __name__ == "__main__":
    raise SystemExit(main())
