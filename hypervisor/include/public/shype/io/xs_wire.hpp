// xenstore's wire protocol (after Xen's io/xs_wire.h): the messages a
// domain exchanges with the store served by Domain-0, and the page that
// carries them between a guest and the store.
//
// A message is a header followed by `len` payload bytes (at most
// kXsPayloadMax). Arguments are NUL-terminated strings, one after another;
// the last argument of XS_WRITE is the raw value (not terminated). Replies
// carry the request's type, req_id and tx_id; a failure is XS_ERROR whose
// payload is the errno's name ("ENOENT", "EACCES", ...) and a NUL.
//
// Requests and their arguments:
//   XS_READ path                    -> value
//   XS_WRITE path value             -> "OK"
//   XS_MKDIR path                   -> "OK"
//   XS_RM path                      -> "OK" (the node and everything below)
//   XS_DIRECTORY path               -> child names, each NUL-terminated
//   XS_GET_PERMS path               -> permissions, each NUL-terminated
//   XS_SET_PERMS path perm...       -> "OK"
//   XS_WATCH path token             -> "OK"; then XS_WATCH_EVENT path token
//                                      whenever the node or one below it changes
//                                      (and once right after the watch is set)
//   XS_UNWATCH path token           -> "OK"
//   XS_TRANSACTION_START ""         -> transaction id (decimal)
//   XS_TRANSACTION_END "T" or "F"   -> "OK", or EAGAIN if the transaction
//                                      conflicted (commit "T") and was not applied
//   XS_GET_DOMAIN_PATH domid        -> "/local/domain/<domid>"
//
// Permissions, as in Xen: a string of one letter and a domain id: "n0" (no
// access), "r5" (read), "w5" (write), "b5" (both). The first names the
// owner (who may always read, write and set permissions) and the access of
// every domain not listed; the others add domains. Domain-0 may do
// anything.
//
// Paths: absolute ("/local/domain/5/name") or relative to the caller's
// home, /local/domain/<domid>. Components are [A-Za-z0-9_@-.]+, a path is
// at most kXsPathMax bytes.
//
// Freestanding: used by guest kernels (no libc) and Domain-0 alike.
#pragma once

#include <cstdint>

namespace shype::abi::io {

enum class XsType : std::uint32_t {
  control = 0,
  directory = 1,
  read = 2,
  get_perms = 3,
  watch = 4,
  unwatch = 5,
  transaction_start = 6,
  transaction_end = 7,
  introduce = 8,
  release = 9,
  get_domain_path = 10,
  write = 11,
  mkdir = 12,
  rm = 13,
  set_perms = 14,
  watch_event = 15,
  error = 16,
  is_domain_introduced = 17,
  resume = 18,
  set_target = 19,
};

struct XsMessageHeader {
  std::uint32_t type;    // XsType
  std::uint32_t req_id;  // echoed in the reply
  std::uint32_t tx_id;   // 0, or a transaction from XS_TRANSACTION_START
  std::uint32_t len;     // payload bytes that follow
};
static_assert(sizeof(XsMessageHeader) == 16);

inline constexpr std::uint32_t kXsPayloadMax = 4096;
inline constexpr std::uint32_t kXsPathMax = 3072;
inline constexpr std::uint32_t kXsRingSize = 1024;

using xs_ring_idx_t = std::uint32_t;

// The store page a guest grants to Domain-0 (grant ref kGrantRefXenstore).
// Two byte rings: requests (guest -> store) and replies and watch events
// (store -> guest). Indices run freely; a ring position is idx % kXsRingSize.
// The producer writes bytes, then publishes *_prod (release); the consumer
// reads, then publishes *_cons. Each side rings the store event channel
// after publishing.
struct XenstoreDomainInterface {
  char req[kXsRingSize];
  char rsp[kXsRingSize];
  xs_ring_idx_t req_cons;
  xs_ring_idx_t req_prod;
  xs_ring_idx_t rsp_cons;
  xs_ring_idx_t rsp_prod;
  std::uint32_t server_features;
  std::uint32_t connection;  // 0: connected
};

}  // namespace shype::abi::io
