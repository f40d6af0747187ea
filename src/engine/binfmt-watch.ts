import { platformInfo, type PlatformId } from "../platform/platforms.ts";
import { binfmtState, type BinfmtProbe, type BinfmtState } from "./binfmt-registration.ts";

/** A time the binfmt registration of an emulated platform was off during a run. */
export interface BinfmtOutage {
  platform: PlatformId;
  /** The entry, e.g. `qemu-aarch64`. */
  entry: string;
  /** `disabled` or `unregistered`. */
  state: BinfmtState;
  /** When the watch first saw it off (epoch ms). */
  offAt: number;
  /** When it saw it enabled again; absent when it stayed off to the end of the run. */
  onAt?: number;
}

/**
 * Watches, while a run's suites run, the binfmt registrations of the emulated platforms on a local
 * engine (this machine's /proc/sys/fs/binfmt_misc: procfs has no change events, so it is read every
 * `intervalMs`). A host process already running under qemu when the registration goes off keeps
 * running, and only the processes it starts afterwards fail, inside the host, in words that blame
 * nothing: the run can only tell that apart from a host defect by knowing when the registration was
 * off (src/report/binfmt-outages.ts attributes what failed then).
 */
export class BinfmtWatch {
  private readonly found: BinfmtOutage[] = [];
  private readonly open = new Map<PlatformId, BinfmtOutage>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly platforms: Array<{ id: PlatformId; endpoint: string }>,
    private readonly probe?: BinfmtProbe,
    private readonly on: { off?: (o: BinfmtOutage) => void; back?: (o: BinfmtOutage) => void } = {},
  ) {}

  /** Starts watching the platforms whose registration this machine can read (local engine, not native); reads once at once. */
  static start(platforms: Array<{ id: PlatformId; endpoint: string }>, options: { intervalMs?: number; probe?: BinfmtProbe; off?: (o: BinfmtOutage) => void; back?: (o: BinfmtOutage) => void } = {}): BinfmtWatch {
    const watched = platforms.filter((p) => ["enabled", "disabled", "unregistered"].includes(binfmtState(platformInfo(p.id), p.endpoint, options.probe)));
    const watch = new BinfmtWatch(watched, options.probe, options);
    watch.check();
    if (watched.length > 0) {
      watch.timer = setInterval(() => watch.check(), options.intervalMs ?? 500);
      watch.timer.unref();
    }
    return watch;
  }

  /** Reads every watched registration now and records a change. */
  check(now = Date.now()): void {
    for (const p of this.platforms) {
      const state = binfmtState(platformInfo(p.id), p.endpoint, this.probe);
      const off = state === "disabled" || state === "unregistered";
      const current = this.open.get(p.id);
      if (off && !current) {
        const outage: BinfmtOutage = { platform: p.id, entry: platformInfo(p.id).binfmt, state, offAt: now };
        this.open.set(p.id, outage);
        this.found.push(outage);
        this.on.off?.(outage);
      } else if (!off && current && state === "enabled") {
        current.onAt = now;
        this.open.delete(p.id);
        this.on.back?.(current);
      }
    }
  }

  /** The outages seen so far. */
  outages(): BinfmtOutage[] {
    return this.found.map((o) => ({ ...o }));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
