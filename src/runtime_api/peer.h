// Who is on the other end of a loopback TCP connection: the owner uid of the peer socket, from
// the kernel's sock_diag (NETLINK_SOCK_DIAG, one exact-match request, no /proc walk). The
// Runtime API uses it in host-network mode, where every environment's endpoint is reachable on
// the host's loopback: a connection whose peer socket is not owned by the environment's own uid
// is dropped, so one environment cannot take, read or answer another's invocation.
// Thread rules: any thread; one short netlink round trip (no disk).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace lambdad::runtime_api {

// The uid owning the TCP socket bound to 127.0.0.1:`peer_port` and connected to
// 127.0.0.1:`local_port` (ports in host order); nullopt when the kernel does not know it.
std::optional<uid_t> loopback_peer_uid(uint16_t local_port, uint16_t peer_port);

}  // namespace lambdad::runtime_api
