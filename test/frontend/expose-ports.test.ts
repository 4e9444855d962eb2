import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseExposedPorts } from "../../frontend/expose-ports.js";

// BuildKit's convert_expose.go parsePort rules.
const good: [string, string[]][] = [
  ["80", ["80/tcp"]],
  ["80/tcp", ["80/tcp"]],
  ["53/UDP", ["53/udp"]],
  ["8000-8002/udp", ["8000/udp", "8001/udp", "8002/udp"]],
  ["9000-9000", ["9000/tcp"]],
  ["132/sctp", ["132/sctp"]],
  ["8080:80", ["80/tcp"]],
  ["127.0.0.1:8080:80/udp", ["80/udp"]],
  ["[::1]:8080:80", ["80/tcp"]],
];

for (const [word, keys] of good) {
  test(`EXPOSE ${word} exposes ${keys.join(", ")}`, () => {
    assert.equal(parseExposedPorts([word]), keys);
  });
}

const bad: [string, string][] = [
  ["80/xyz", 'invalid port: "80/xyz": invalid proto: xyz'],
  ["/tcp", 'invalid port: "/tcp": no port specified'],
  ["http", "invalid containerPort: http"],
  ["70000", "invalid containerPort: 70000"],
  ["90-80", "invalid containerPort: 90-80"],
  ["1.2.3:80:80", "invalid IP address: 1.2.3"],
  ["8000-8001:80-90", "invalid ranges specified for container and host Ports: 80-90 and 8000-8001"],
];

for (const [word, message] of bad) {
  test(`EXPOSE ${word} is refused: ${message}`, () => {
    assert.throws(() => parseExposedPorts([word]), (error: Error) => error.message === message);
  });
}

test.run();
