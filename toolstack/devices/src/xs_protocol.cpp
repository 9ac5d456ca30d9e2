// xenstore's wire protocol (xs_protocol.hpp).
#include "devices/xs_protocol.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

namespace shype::devices {
namespace {

using abi::io::XsMessageHeader;
using abi::io::XsType;

constexpr std::size_t kHeader = sizeof(XsMessageHeader);

// Splits a payload into NUL-terminated arguments. The last argument may be
// unterminated only where `last_raw` (XS_WRITE's value); otherwise every
// argument must be terminated. Returns nullopt if malformed.
std::optional<std::vector<std::string_view>> split_args(std::string_view payload,
                                                        std::size_t expected, bool last_raw) {
  std::vector<std::string_view> args;
  std::size_t at = 0;
  while (args.size() < expected) {
    if (last_raw && args.size() + 1 == expected) {
      args.push_back(payload.substr(at));
      return args;
    }
    const std::size_t nul = payload.find('\0', at);
    if (nul == std::string_view::npos) return std::nullopt;
    args.push_back(payload.substr(at, nul - at));
    at = nul + 1;
  }
  if (at != payload.size()) return std::nullopt;  // trailing bytes
  return args;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += item;
    out.push_back('\0');
  }
  return out;
}

}  // namespace

std::string encode_xs_message(XsType type, std::uint32_t req_id, std::uint32_t tx_id,
                              std::string_view payload) {
  XsMessageHeader header{static_cast<std::uint32_t>(type), req_id, tx_id,
                         static_cast<std::uint32_t>(payload.size())};
  std::string out(kHeader, '\0');
  std::memcpy(out.data(), &header, kHeader);
  out.append(payload);
  return out;
}

std::size_t XsDecoder::feed(std::string_view bytes) {
  if (broken_) return 0;
  std::size_t taken = 0;
  while (taken < bytes.size()) {
    std::size_t want = kHeader;
    if (buffer_.size() >= kHeader) {
      XsMessageHeader header{};
      std::memcpy(&header, buffer_.data(), kHeader);
      if (header.len > abi::io::kXsPayloadMax) {
        broken_ = true;
        return taken;
      }
      want = kHeader + header.len;
    }
    if (buffer_.size() == want) break;  // a complete message waits
    const std::size_t n = std::min(want - buffer_.size(), bytes.size() - taken);
    buffer_.append(bytes.substr(taken, n));
    taken += n;
  }
  // Check a header that just completed.
  if (buffer_.size() >= kHeader) {
    XsMessageHeader header{};
    std::memcpy(&header, buffer_.data(), kHeader);
    if (header.len > abi::io::kXsPayloadMax) broken_ = true;
  }
  return taken;
}

std::optional<XsMessage> XsDecoder::next() {
  if (broken_ || buffer_.size() < kHeader) return std::nullopt;
  XsMessage message;
  std::memcpy(&message.header, buffer_.data(), kHeader);
  if (message.header.len > abi::io::kXsPayloadMax) {
    broken_ = true;
    return std::nullopt;
  }
  if (buffer_.size() < kHeader + message.header.len) return std::nullopt;
  message.payload = buffer_.substr(kHeader, message.header.len);
  buffer_.clear();
  return message;
}

XsSession::XsSession(Xenstore& store, abi::domid_t domid, Send send)
    : store_(store), domid_(domid), send_(std::move(send)), owner_(store.new_owner()) {}

XsSession::~XsSession() { store_.forget_owner(owner_); }

void XsSession::reply_error(const XsMessageHeader& header, int error) {
  const std::string name = errno_name(error);
  send_(encode_xs_message(XsType::error, header.req_id, header.tx_id,
                          std::string_view(name.c_str(), name.size() + 1)));
}

void XsSession::handle(const XsMessage& message) {
  const XsMessageHeader& h = message.header;
  const std::string_view payload = message.payload;
  handling_ = true;
  const auto type = static_cast<XsType>(h.type);
  auto ok = [&] {
    send_(encode_xs_message(type, h.req_id, h.tx_id, std::string_view("OK", 3)));
  };
  auto reply = [&](std::string_view body) { send_(encode_xs_message(type, h.req_id, h.tx_id, body)); };
  auto args_of = [&](std::size_t n, bool last_raw = false) { return split_args(payload, n, last_raw); };
  auto status = [&](const XsStatus& s) {
    if (s) {
      ok();
    } else {
      reply_error(h, s.error());
    }
  };

  switch (type) {
    case XsType::read: {
      auto a = args_of(1);
      if (!a) { reply_error(h, EINVAL); break; }
      auto v = store_.read(domid_, h.tx_id, (*a)[0]);
      if (v) reply(*v); else reply_error(h, v.error());
      break;
    }
    case XsType::write: {
      auto a = args_of(2, true);
      if (!a) { reply_error(h, EINVAL); break; }
      status(store_.write(domid_, h.tx_id, (*a)[0], (*a)[1]));
      break;
    }
    case XsType::mkdir: {
      auto a = args_of(1);
      if (!a) { reply_error(h, EINVAL); break; }
      status(store_.mkdir(domid_, h.tx_id, (*a)[0]));
      break;
    }
    case XsType::rm: {
      auto a = args_of(1);
      if (!a) { reply_error(h, EINVAL); break; }
      status(store_.rm(domid_, h.tx_id, (*a)[0]));
      break;
    }
    case XsType::directory: {
      auto a = args_of(1);
      if (!a) { reply_error(h, EINVAL); break; }
      auto v = store_.directory(domid_, h.tx_id, (*a)[0]);
      if (!v) { reply_error(h, v.error()); break; }
      const std::string body = joined(*v);
      if (body.size() > abi::io::kXsPayloadMax) { reply_error(h, E2BIG); break; }
      reply(body);
      break;
    }
    case XsType::get_perms: {
      auto a = args_of(1);
      if (!a) { reply_error(h, EINVAL); break; }
      auto v = store_.get_perms(domid_, h.tx_id, (*a)[0]);
      if (!v) { reply_error(h, v.error()); break; }
      std::vector<std::string> texts;
      for (const auto& p : *v) texts.push_back(format_perm(p));
      reply(joined(texts));
      break;
    }
    case XsType::set_perms: {
      // path, then one or more permissions, each terminated.
      if (payload.empty() || payload.back() != '\0') { reply_error(h, EINVAL); break; }
      std::vector<std::string_view> parts;
      for (std::size_t at = 0; at < payload.size();) {
        const std::size_t nul = payload.find('\0', at);
        parts.push_back(payload.substr(at, nul - at));
        at = nul + 1;
      }
      if (parts.size() < 2) { reply_error(h, EINVAL); break; }
      XsPerms perms;
      bool bad = false;
      for (std::size_t i = 1; i < parts.size(); ++i) {
        auto p = parse_perm(parts[i]);
        if (!p) { bad = true; break; }
        perms.push_back(*p);
      }
      if (bad) { reply_error(h, EINVAL); break; }
      status(store_.set_perms(domid_, h.tx_id, parts[0], perms));
      break;
    }
    case XsType::watch: {
      auto a = args_of(2);
      if (!a) { reply_error(h, EINVAL); break; }
      auto id = store_.watch(domid_, owner_, (*a)[0], (*a)[1],
                             [this](const std::string& path, const std::string& token) {
                               std::string body = path;
                               body.push_back('\0');
                               body += token;
                               body.push_back('\0');
                               std::string bytes = encode_xs_message(XsType::watch_event, 0, 0, body);
                               if (handling_) {
                                 held_events_.push_back(std::move(bytes));
                               } else {
                                 send_(std::move(bytes));
                               }
                             });
      if (id) ok(); else reply_error(h, id.error());
      break;
    }
    case XsType::unwatch: {
      auto a = args_of(2);
      if (!a) { reply_error(h, EINVAL); break; }
      status(store_.unwatch(domid_, owner_, (*a)[0], (*a)[1]));
      break;
    }
    case XsType::transaction_start: {
      if (h.tx_id != 0) { reply_error(h, EBUSY); break; }
      auto id = store_.transaction_start(domid_, owner_);
      if (!id) { reply_error(h, id.error()); break; }
      const std::string text = std::to_string(*id);
      reply(std::string_view(text.c_str(), text.size() + 1));
      break;
    }
    case XsType::transaction_end: {
      auto a = args_of(1);
      if (!a || ((*a)[0] != "T" && (*a)[0] != "F")) { reply_error(h, EINVAL); break; }
      status(store_.transaction_end(domid_, h.tx_id, (*a)[0] == "T"));
      break;
    }
    case XsType::get_domain_path: {
      auto a = args_of(1);
      if (!a || (*a)[0].empty() || (*a)[0].size() > 5) { reply_error(h, EINVAL); break; }
      std::uint32_t id = 0;
      bool digits = true;
      for (const char c : (*a)[0]) {
        if (c < '0' || c > '9') digits = false;
        else id = id * 10 + static_cast<std::uint32_t>(c - '0');
      }
      if (!digits || id > 0xffff) { reply_error(h, EINVAL); break; }
      const std::string path = domain_home(static_cast<abi::domid_t>(id));
      reply(std::string_view(path.c_str(), path.size() + 1));
      break;
    }
    default:
      // introduce, release, resume, set_target... are Domain-0's, in
      // process; control and unknown types are not served to guests.
      reply_error(h, domid_ == abi::kDomain0 ? ENOSYS : EACCES);
      break;
  }
  handling_ = false;
  std::vector<std::string> events;
  events.swap(held_events_);
  for (auto& e : events)
    send_(std::move(e));
}

}  // namespace shype::devices
