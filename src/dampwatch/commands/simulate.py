"""``dampwatch simulate``: publish contract-v1 telemetry as simulated devices."""

from __future__ import annotations

import argparse
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from backend.registry import add_flat, sync_broker_credentials
from dampwatch.commands._common import add_settings_flag, settings_from_args
from dampwatch.provision import issue_credentials, read_credentials, write_credentials
from dampwatch_core.const import BEDROOM, LIVING_ROOM, OUTDOOR_ROOM
from dampwatch_core.contract import Reading
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.errors import ServiceUnavailable
from dampwatch_core.settings import Settings, default_state_dir, device_broker
from simulators.publisher import DeviceCredential, DevicePublisher, SimpleClimate

log = logging.getLogger(__name__)

ROOMS = (LIVING_ROOM, BEDROOM)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "simulate", help="publish telemetry as simulated devices (provisions them first)"
    )
    parser.add_argument(
        "--estate",
        type=Path,
        metavar="FILE",
        help="simulate an estate file (physical flats with labelled scenarios) instead of "
        "--devices: history is replayed fast, then readings follow the clock",
    )
    parser.add_argument("--end", type=int, help="estate: last simulated time (Unix s; default now)")
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="DIR",
        help="estate: write readings.csv and outdoor.csv for 'dampwatch analyse' "
        "instead of publishing",
    )
    parser.add_argument(
        "--ahead-h",
        type=float,
        default=24.0,
        help="estate: hours simulated past now, published as the clock reaches them",
    )
    parser.add_argument("--devices", type=int, default=10, help="number of devices (2 per flat)")
    parser.add_argument("--interval", type=float, default=300.0, help="seconds between samples")
    parser.add_argument("--upload-every", type=int, default=1, help="samples per message (1–64)")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run (0 = forever)")
    parser.add_argument("--state-dir", type=Path, default=None, help="where credentials are kept")
    parser.add_argument("--seed", type=int, default=1)
    add_settings_flag(parser)
    parser.set_defaults(func=run)


def provision(settings: Settings, count: int, cred_file: Path) -> list[DeviceCredential]:
    """Register ``count`` simulated devices (flats SIM-0001…, two rooms each), keeping
    their passwords in ``cred_file`` (mode 0600) so later runs reuse them."""
    known = read_credentials(cred_file)
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    wanted = [
        (f"sim-{i + 1:06d}", f"SIM-{i // len(ROOMS) + 1:04d}", ROOMS[i % len(ROOMS)])
        for i in range(count)
    ]
    with sessions.begin() as session:
        for flat_id in dict.fromkeys(flat for _, flat, _ in wanted):
            add_flat(session, flat_id, f"Simulated flat {flat_id}", block="Simulated Court")
        session.flush()
        issued, changed = issue_credentials(session, wanted, known)
        if changed and settings.broker_password_file is not None:
            sync_broker_credentials(
                session, settings.broker_password_file, settings.broker_pid_file
            )
    known.update(issued)
    write_credentials(cred_file, known)
    creds = [DeviceCredential(d, issued[d]) for d, _, _ in wanted]
    if changed:
        time.sleep(0.5)  # let the broker reread its password file
    return creds


def run(args: argparse.Namespace) -> int:
    if args.estate is not None:
        return run_estate(args)
    settings = settings_from_args(args)
    if not 1 <= args.upload_every <= 64:
        raise SystemExit("dampwatch simulate: --upload-every must be 1–64")
    state_dir = args.state_dir or (
        Path(args.settings).parent if args.settings else default_state_dir()
    )
    creds = provision(settings, args.devices, state_dir / "simulator" / "credentials.json")
    stop = threading.Event()
    return simulate(
        settings, creds, args.interval, args.upload_every, args.duration, args.seed, stop
    )


def simulate(
    settings: Settings,
    creds: list[DeviceCredential],
    interval: float,
    upload_every: int,
    duration: float,
    seed: int,
    stop: threading.Event,
) -> int:
    publishers = [
        DevicePublisher(*device_broker(settings), c, tls_ca=settings.mqtt_tls_ca) for c in creds
    ]
    climates = [SimpleClimate(seed * 100_003 + i) for i in range(len(creds))]
    buffers: list[list[Reading]] = [[] for _ in creds]
    started = time.monotonic()
    sent = failed = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while not stop.is_set():
            tick = time.monotonic()
            now = int(time.time())
            due = []
            for i, climate in enumerate(climates):
                buffers[i].append(climate.sample(now))
                if len(buffers[i]) >= upload_every:
                    due.append(i)

            def upload(i: int) -> bool:
                try:
                    publishers[i].upload(buffers[i][-64:])
                except ServiceUnavailable as exc:
                    log.warning("%s", exc)
                    return False
                return True

            for i, ok in zip(due, pool.map(upload, due), strict=True):
                if ok:
                    buffers[i].clear()
                    sent += 1
                else:
                    failed += 1
            log.info("simulate: %d message(s) sent, %d failed so far", sent, failed)
            if duration and time.monotonic() - started >= duration:
                break
            stop.wait(max(0.0, interval - (time.monotonic() - tick)))
    return 0


def run_estate(args: argparse.Namespace) -> int:
    """Generate the estate; write CSVs, or provision it and publish through the broker."""
    from dampwatch.provision import outdoor_device_id, provision_estate
    from simulators.csvout import write_outdoor_csv, write_readings_csv
    from simulators.estate import load_estate
    from simulators.publisher import DeviceSeries, FleetPublisher

    spec = load_estate(args.estate)
    now = int(time.time())
    if args.csv is not None:
        estate = spec.generate(end=args.end if args.end is not None else now)
        args.csv.mkdir(parents=True, exist_ok=True)
        rows = write_readings_csv(estate, args.csv / "readings.csv")
        write_outdoor_csv(estate, args.csv / "outdoor.csv")
        print(f"wrote {rows} readings of {len(estate.flats)} flats to {args.csv / 'readings.csv'}")
        return 0
    settings = settings_from_args(args)
    end = args.end if args.end is not None else now + int(args.ahead_h * 3600)
    print(
        f"simulate: generating {spec.name} ({sum(b.flats for b in spec.blocks)} flats, "
        f"{spec.days} days) ...",
        flush=True,
    )
    estate = spec.generate(end=end)
    state_dir = args.state_dir or (
        Path(args.settings).parent if args.settings else default_state_dir()
    )
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        creds = provision_estate(
            session,
            estate,
            state_dir / "simulator" / "estate-credentials.json",
            password_file=settings.broker_password_file,
            pid_file=settings.broker_pid_file,
        )
    time.sleep(0.5)  # the broker rereads its password file
    series = [
        DeviceSeries(
            DeviceCredential(d.device_id, creds[d.device_id]),
            d.ts,
            d.temp_c,
            d.rh_pct,
            d.surface_c,
            upload_every=48,
            offline=d.offline,
        )
        for d in estate.devices
    ]
    out_rh = estate.outdoor_rh.round(1)
    for block in spec.blocks:
        dev = outdoor_device_id(block.code)
        series.append(
            DeviceSeries(
                DeviceCredential(dev, creds[dev]),
                estate.outdoor_ts,
                estate.outdoor_c.round(2),
                out_rh,
                upload_every=48,
            )
        )
    fleet = FleetPublisher(*device_broker(settings), series, workers=8, tls_ca=settings.mqtt_tls_ca)
    total = sum(len(s.ts) for s in series)
    print(
        f"simulate: {len(series)} devices ({len(spec.blocks)} outdoor, room '{OUTDOOR_ROOM}'); "
        "replaying history ...",
        flush=True,
    )
    started = time.monotonic()
    last_print = 0.0
    # replay history a simulated day at a time (accelerated), then follow the clock
    replay_to = int(estate.start) + 86400
    while fleet.remaining() > 0:
        replay_to = min(replay_to + 86400, int(time.time()))
        progress = fleet.publish_until(replay_to)
        sent = total - fleet.remaining()
        if time.monotonic() - last_print > 5:
            bar = "#" * int(30 * sent / total)
            print(
                f"simulate: [{bar:<30}] {sent}/{total} readings, {progress.messages} messages, "
                f"{progress.failed_uploads} failed uploads ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
            last_print = time.monotonic()
        if args.duration and time.monotonic() - started >= args.duration:
            break
        if replay_to >= int(time.time()):
            time.sleep(min(args.interval, 30.0))
    return 0
