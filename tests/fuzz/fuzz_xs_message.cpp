// Property fuzzer for what a guest writes into its xenstore request ring
// (STYLE.md rule 12; toolstack/devices/src/xs_protocol.cpp and
// xenstore.cpp): the decoder that cuts the byte stream into messages and
// the session that answers each one, exactly as XsGuestConnection drives
// them, over a store holding Domain-0's backend nodes, the guest's home and
// another domain's home with a secret.
//
// Input: a control byte (bits 0..5: the size of the pieces the stream is
// fed in, 1..64), then the request stream of domain 1.
//
// Properties, for every input:
//  - nothing crashes (ASan, UBSan);
//  - the decoder always makes progress: it takes bytes or yields a message
//    until the stream ends or it declares the stream broken;
//  - every message gets exactly one reply first, carrying its req_id and
//    tx_id and either its type or XS_ERROR with a known errno name; only
//    watch events (req_id 0, two NUL-terminated strings) follow it; every
//    header's length is the payload's and at most kXsPayloadMax;
//  - nothing outside /local/domain/1 changes (value or permissions), and
//    the other domain's secret never reaches the guest unless the guest
//    wrote it itself;
//  - the guest never owns more nodes than its quota, and when the session
//    ends its watches and transactions are gone.
// Any violation aborts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "devices/xenstore.hpp"
#include "devices/xs_protocol.hpp"

namespace {

using namespace shype;
using namespace shype::devices;
using abi::io::XsMessageHeader;
using abi::io::XsType;

constexpr abi::domid_t kGuest = 1;
constexpr abi::domid_t kOther = 2;
constexpr std::string_view kSecret = "secret-of-domain-2-7d41c9e0";

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_xs_message: property violated: %s\n", property);
  std::abort();
}

void must(bool ok, const char* property) {
  if (!ok) violated(property);
}

// Every node outside the guest's home, as Domain-0 sees it.
std::map<std::string, std::string> outside_guest(Xenstore& store) {
  std::map<std::string, std::string> nodes;
  const std::string home = domain_home(kGuest);
  std::vector<std::string> pending{"/"};
  while (!pending.empty()) {
    const std::string path = pending.back();
    pending.pop_back();
    if (path == home || path.rfind(home + "/", 0) == 0) continue;
    auto value = store.read(abi::kDomain0, 0, path);
    auto perms = store.get_perms(abi::kDomain0, 0, path);
    auto children = store.directory(abi::kDomain0, 0, path);
    must(value && perms && children, "a node Domain-0 listed cannot be read");
    std::string entry = *value + "|";
    for (const auto& p : *perms) entry += format_perm(p) + " ";
    nodes[path] = entry;
    for (const auto& c : *children) pending.push_back(path == "/" ? "/" + c : path + "/" + c);
  }
  return nodes;
}

bool known_errno_name(std::string_view name) {
  static constexpr std::string_view kNames[] = {"ENOENT", "EACCES",    "EINVAL", "E2BIG",
                                                "EEXIST", "EAGAIN",    "ENOSPC", "EPERM",
                                                "EISDIR", "ENOTEMPTY", "EBUSY",  "ENOSYS",
                                                "EROFS",  "ENOMEM",    "EIO"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

XsMessageHeader header_of(const std::string& bytes) {
  must(bytes.size() >= sizeof(XsMessageHeader), "a sent message is shorter than a header");
  XsMessageHeader h{};
  std::memcpy(&h, bytes.data(), sizeof h);
  must(h.len == bytes.size() - sizeof h, "a header's length is not its payload's");
  must(h.len <= abi::io::kXsPayloadMax, "a reply is longer than kXsPayloadMax");
  return h;
}

void check_answers(const XsMessage& request, const std::vector<std::string>& sent) {
  must(!sent.empty(), "a request got no reply");
  const XsMessageHeader reply = header_of(sent.front());
  must(reply.req_id == request.header.req_id, "the reply does not carry the req_id");
  must(reply.tx_id == request.header.tx_id, "the reply does not carry the tx_id");
  const std::string_view payload = std::string_view(sent.front()).substr(sizeof reply);
  if (reply.type == static_cast<std::uint32_t>(XsType::error)) {
    must(!payload.empty() && payload.back() == '\0', "an XS_ERROR payload is not terminated");
    must(known_errno_name(payload.substr(0, payload.size() - 1)),
         "an XS_ERROR names no known errno");
  } else {
    must(reply.type == request.header.type, "the reply's type is not the request's");
  }
  for (std::size_t i = 1; i < sent.size(); ++i) {
    const XsMessageHeader event = header_of(sent[i]);
    must(event.type == static_cast<std::uint32_t>(XsType::watch_event),
         "something other than a watch event follows the reply");
    must(event.req_id == 0, "a watch event carries a req_id");
    const std::string_view body = std::string_view(sent[i]).substr(sizeof event);
    must(std::count(body.begin(), body.end(), '\0') == 2 && !body.empty() && body.back() == '\0',
         "a watch event is not path and token, both terminated");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = (data[0] & 0x3fu) + 1u;
  // SAFETY: uint8_t and char have the same size; the bytes are only read.
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool guest_knows_secret = stream.find(kSecret) != std::string_view::npos;

  XsLimits limits;
  limits.nodes_per_domain = 64;  // small, so inputs reach the quotas
  limits.watches_per_domain = 8;
  limits.transactions_per_domain = 2;
  Xenstore store(limits);
  must(store.introduce_domain(kGuest, "guest").has_value(), "introducing the guest failed");
  must(store.introduce_domain(kOther, "other").has_value(), "introducing the other failed");
  const std::string backend = "/local/domain/0/backend/vbd/1/51712";
  must(store.write(abi::kDomain0, 0, backend + "/state", "4").has_value(), "backend write");
  must(store.set_perms(abi::kDomain0, 0, backend + "/state",
                       {XsPerm{abi::kDomain0, XsAccess::none}, XsPerm{kGuest, XsAccess::read}})
           .has_value(),
       "backend perms");
  must(store.write(abi::kDomain0, 0, "/local/domain/2/data/secret", kSecret).has_value(),
       "secret write");
  const auto before = outside_guest(store);
  const std::uint32_t other_owned = store.nodes_owned(kOther);

  {
    std::vector<std::string> sent;
    XsSession session(store, kGuest, [&](std::string bytes) { sent.push_back(std::move(bytes)); });
    XsDecoder decoder;
    std::size_t at = 0;
    while (at < stream.size() && !decoder.broken()) {
      const std::size_t taken = decoder.feed(stream.substr(at, std::min(step, stream.size() - at)));
      at += taken;
      bool handled = false;
      while (auto message = decoder.next()) {
        must(message->payload.size() == message->header.len, "a message's payload is not its len");
        sent.clear();
        session.handle(*message);
        check_answers(*message, sent);
        if (!guest_knows_secret) {
          for (const auto& bytes : sent) {
            must(bytes.find(kSecret) == std::string::npos, "the other domain's secret leaked");
          }
        }
        handled = true;
      }
      must(taken > 0 || handled || decoder.broken(), "the decoder stalled");
      must(store.nodes_owned(kGuest) <= limits.nodes_per_domain, "the guest exceeds its node quota");
    }
  }
  must(store.watch_count() == 0, "watches outlived their session");
  must(store.transaction_count() == 0, "transactions outlived their session");
  must(outside_guest(store) == before, "a node outside the guest's home changed");
  must(store.nodes_owned(kOther) == other_owned, "the other domain's node count changed");
  return 0;
}
