import Docker from "dockerode";
import { getContainerRuntimeClient, type ContainerRuntimeClient } from "testcontainers";
// The one place testcontainers reads which engine to use; it caches the answer for the process.
import { getContainerRuntimeConfig } from "testcontainers/build/container-runtime/strategies/utils/config.js";
import { dockerOptions, engineFailure } from "../engine/docker-engine.ts";
import { DistcheckError, InfrastructureError } from "../errors/distcheck-error.ts";

/**
 * testcontainers talks to one engine per process, found once (its "container runtime strategies")
 * and kept. This binds it to a cell's engine, the same endpoint distcheck's own Engine API client
 * uses, and proves it by the engine's id.
 *
 * Why it cannot just read DOCKER_HOST: docker-modem, under dockerode, fills every client option it
 * is not given from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, and takes HTTPS for a
 * DOCKER_HOST on port 2376 (or with DOCKER_TLS_VERIFY=1). testcontainers gives it a host and a port
 * but never a protocol, so with `DOCKER_HOST=tcp://127.0.0.1:2376` it spoke TLS to a plain-HTTP
 * engine, every strategy failed ("Could not find a working container runtime strategy") and no cell
 * of that platform started. distcheck speaks plain HTTP to a `tcp://` engine everywhere else
 * (`dockerOptions`), so while testcontainers makes its client for a `tcp://` engine those variables
 * are hidden; its settings come from the endpoint given here instead.
 *
 * And why the id check: a strategy that fails makes testcontainers try the next one, the local socket
 * among them, so a remote engine that does not answer could silently become the local one.
 */

/** What docker-modem reads from the environment whenever a client is made. */
const MODEM_VARIABLES = ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"] as const;

let bound: { endpoint: string; client: Promise<ContainerRuntimeClient> } | undefined;

/**
 * testcontainers' client, bound to the engine at `endpoint` (a DOCKER_HOST-style URL) on first call.
 * A later call for another endpoint is refused (`engine_per_process`, input: how the process was
 * started): one vitest process drives the cells of one engine (`distcheck run` starts one per engine).
 */
export function testcontainersOn(endpoint: string): Promise<ContainerRuntimeClient> {
  if (bound && bound.endpoint !== endpoint) {
    return Promise.reject(
      new DistcheckError(
        "engine_per_process",
        `This process runs cells on the Docker engine at ${bound.endpoint}; a cell on ${endpoint} cannot join it (testcontainers drives one engine per process). Run \`npx distcheck run\`, which starts one vitest process per engine, or narrow a direct vitest run to the platforms of one engine (DISTCHECK_FILTER_PLATFORM).`,
        { category: "input" },
      ),
    );
  }
  if (!bound) {
    const client = bind(endpoint);
    bound = { endpoint, client };
    // A failure (the engine did not answer) is tried again by the next cell.
    client.catch(() => {
      if (bound?.client === client) bound = undefined;
    });
  }
  return bound.client;
}

async function bind(endpoint: string): Promise<ContainerRuntimeClient> {
  const own = new Docker(dockerOptions(endpoint));
  const expected = await own.info().catch((cause: unknown) => {
    throw engineFailure(endpoint, "answer (GET /info)", cause);
  });
  // Cached by testcontainers from here on: the endpoint, whatever the environment says.
  const config = await getContainerRuntimeConfig({ DOCKER_HOST: endpoint });
  const restore = endpoint.startsWith("tcp:") ? hideModemVariables() : () => undefined;
  let client: ContainerRuntimeClient;
  try {
    client = await getContainerRuntimeClient();
  } catch (cause) {
    throw new InfrastructureError("testcontainers_engine_unavailable", `testcontainers could not reach the Docker engine at ${endpoint} (${(cause as Error).message}), which answers distcheck's own client. Check ~/.testcontainers.properties (tc.host, docker.host) and run with DEBUG=testcontainers* to see each strategy it tried.`, { cause });
  } finally {
    restore();
  }
  const reached = await client.container.dockerode.info();
  if (reached.ID !== expected.ID) {
    const settings = [config.tcHost ? `tc.host=${config.tcHost}` : "", config.dockerHost ? `docker host ${config.dockerHost}` : ""].filter(Boolean).join(", ");
    throw new InfrastructureError(
      "testcontainers_engine_mismatch",
      `testcontainers reaches the Docker engine ${reached.Name} (id ${reached.ID}, at ${client.info.containerRuntime.host}) instead of the cell's engine at ${endpoint} (${expected.Name}, id ${expected.ID}); its settings: ${settings || "none"}. Remove tc.host from ~/.testcontainers.properties, or make sure nothing in this process used testcontainers before the first cell.`,
    );
  }
  return client;
}

/** Removes the modem's variables from the environment; returns what puts them back. */
function hideModemVariables(): () => void {
  const saved = MODEM_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of MODEM_VARIABLES) delete process.env[name];
  return () => {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  };
}
