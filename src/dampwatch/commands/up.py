"""``dampwatch up``: the local stack (Mosquitto, InfluxDB, gateway, API, scheduler, the
outbox dispatcher) with an optional simulated estate, until Ctrl-C or SIGTERM. A part
that crashes is restarted with backoff (``dampwatch.stack.supervisor``); only repeated
fast crashes stop it all."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from dampwatch.stack.local import DEFAULT_PORTS, LocalStack, StackPorts
from dampwatch.stack.process import ManagedProcess
from dampwatch.stack.supervisor import Supervisor
from dampwatch_core.settings import check_environment, default_state_dir


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("up", help="run the local stack (and a simulated estate)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=f"all state and config (default {default_state_dir()})",
    )
    parser.add_argument(
        "--mqtt-port", type=int, default=DEFAULT_PORTS.mqtt, help="the broker, for devices"
    )
    parser.add_argument(
        "--mqtt-service-port",
        type=int,
        default=DEFAULT_PORTS.mqtt_service,
        help="the broker, for the services (on 127.0.0.1)",
    )
    parser.add_argument("--influx-port", type=int, default=DEFAULT_PORTS.influx)
    parser.add_argument("--api-port", type=int, default=DEFAULT_PORTS.api)
    parser.add_argument("--metrics-port", type=int, default=DEFAULT_PORTS.gateway_metrics)
    parser.add_argument("--free-ports", action="store_true", help="pick free ports instead")
    parser.add_argument("--database-url", help="relational store (default: SQLite in state dir)")
    parser.add_argument(
        "--simulate",
        type=int,
        default=0,
        metavar="N",
        help="also run N simulated devices publishing through the stack",
    )
    parser.add_argument(
        "--sim-interval", type=float, default=10.0, help="seconds between simulated samples"
    )
    parser.add_argument(
        "--estate",
        type=Path,
        metavar="FILE",
        help="also simulate this estate (e.g. examples/estates/demo.toml): two weeks of "
        "history replayed through the stack, then live; flats are scored every minute",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_environment(os.environ)  # before any service inherits a misspelt variable
    state_dir: Path = args.state_dir or default_state_dir()
    ports = (
        StackPorts.free()
        if args.free_ports
        else StackPorts(
            args.mqtt_port,
            args.influx_port,
            args.api_port,
            args.metrics_port,
            args.mqtt_service_port,
        )
    )
    stack = LocalStack(
        state_dir,
        ports,
        database_url=args.database_url,
        score_every_s=60 if args.estate else 3600,
    )
    stopping = threading.Event()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"dampwatch up: starting the stack in {state_dir} ...", flush=True)
    stack.start()
    if stack.first_admin is not None:
        print(
            f"dampwatch up: first admin {stack.first_admin[0]}, password {stack.first_admin[1]}\n"
            f"  (shown once; kept in {stack.state_dir / 'secrets.json'})",
            flush=True,
        )
    simulator: ManagedProcess | None = None
    try:
        if args.estate or args.simulate:
            what = (
                ["--estate", str(args.estate.resolve()), "--interval", "30"]
                if args.estate
                else ["--devices", str(args.simulate), "--interval", str(args.sim_interval)]
            )
            simulator = ManagedProcess(
                "simulator",
                [
                    sys.executable,
                    "-m",
                    "dampwatch.cli",
                    "simulate",
                    "--settings",
                    str(stack.settings_file),
                    "--state-dir",
                    str(stack.state_dir),
                    *what,
                ],
                stack.state_dir / "logs" / "simulator.log",
            )
            simulator.start()
        print(
            "DampWatch is up:\n"
            f"  dashboard/API  {stack.api_url}/\n"
            f"  MQTT broker    {stack.mosquitto.url} (devices), "
            f"{stack.mosquitto.service_url} (services)\n"
            f"  InfluxDB       {stack.influx.url} (database {stack.influx.database})\n"
            f"  gateway        {stack.metrics_url}\n"
            f"  Notify         {stack.notify_url} (a stand-in: the dashboard's Messages page "
            "shows what would have been sent)\n"
            f"  endpoints      {stack.stack_file}\n"
            f"  logs           {stack.state_dir / 'logs'}\n"
            + (f"  simulating     {args.simulate} device(s)\n" if args.simulate else "")
            + (
                f"  estate         {args.estate} (progress in logs/simulator.log)\n"
                if args.estate
                else ""
            )
            + "Press Ctrl-C to stop.",
            flush=True,
        )
        # a crashed part is restarted with backoff; repeated fast crashes end the stack
        supervisor = Supervisor(
            [
                stack.mosquitto.process,
                stack.influx.process,
                *stack.services,
                *([simulator] if simulator is not None else []),
            ]
        )
        while not stopping.wait(0.25):
            supervisor.poll()
    finally:
        print("dampwatch up: stopping ...", flush=True)
        if simulator is not None:
            simulator.stop()
        stack.stop()
    return 0
