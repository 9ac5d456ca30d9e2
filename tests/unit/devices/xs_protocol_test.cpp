// xenstore's wire decoder and session (toolstack/devices/src/xs_protocol.cpp).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "devices/xs_protocol.hpp"

namespace shype::devices {
namespace {

using abi::io::XsMessageHeader;
using abi::io::XsType;

struct Reply {
  XsType type;
  std::uint32_t req_id;
  std::uint32_t tx_id;
  std::string payload;
};

std::vector<Reply> decode_all(const std::string& bytes) {
  XsDecoder decoder;
  std::vector<Reply> out;
  std::string_view rest = bytes;
  while (!rest.empty()) {
    rest.remove_prefix(decoder.feed(rest));
    while (auto m = decoder.next()) {
      out.push_back(Reply{static_cast<XsType>(m->header.type), m->header.req_id, m->header.tx_id,
                          m->payload});
    }
    if (decoder.broken()) break;
  }
  return out;
}

std::string z(std::string s) { return s + std::string(1, '\0'); }

class XsSessionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.introduce_domain(3, "alice")); }
  std::vector<Reply> ask(XsType type, const std::string& payload, std::uint32_t tx = 0) {
    sent_.clear();
    XsMessage m;
    m.header = XsMessageHeader{static_cast<std::uint32_t>(type), ++req_, tx,
                               static_cast<std::uint32_t>(payload.size())};
    m.payload = payload;
    session_.handle(m);
    return decode_all(sent_);
  }

  Xenstore store_;
  std::string sent_;
  XsSession session_{store_, 3, [this](std::string b) { sent_ += b; }};
  std::uint32_t req_ = 0;
};

TEST_F(XsSessionTest, ReadWriteAndErrorsByName) {
  auto r = ask(XsType::write, z("data/x") + "value");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, XsType::write);
  EXPECT_EQ(r[0].payload, z("OK"));
  r = ask(XsType::read, z("data/x"));
  EXPECT_EQ(r[0].payload, "value");
  EXPECT_EQ(r[0].req_id, req_);
  r = ask(XsType::read, z("/local/domain/0"));
  EXPECT_EQ(r[0].type, XsType::error);
  EXPECT_EQ(r[0].payload, z("ENOENT"));
  ASSERT_TRUE(store_.introduce_domain(4, "bob"));
  r = ask(XsType::read, z("/local/domain/4/name"));
  EXPECT_EQ(r[0].payload, z("EACCES"));
  r = ask(XsType::read, "unterminated");
  EXPECT_EQ(r[0].payload, z("EINVAL"));
  r = ask(XsType::introduce, "");
  EXPECT_EQ(r[0].type, XsType::error);
  r = ask(static_cast<XsType>(999), "");
  EXPECT_EQ(r[0].type, XsType::error);
}

TEST_F(XsSessionTest, WatchReplyComesBeforeItsFirstEvent) {
  auto r = ask(XsType::watch, z("data") + z("t1"));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].type, XsType::watch);
  EXPECT_EQ(r[1].type, XsType::watch_event);
  EXPECT_EQ(r[1].payload, z("data") + z("t1"));
  r = ask(XsType::write, z("data/y") + "1");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].payload, z("data/y") + z("t1"));
  r = ask(XsType::unwatch, z("data") + z("t1"));
  EXPECT_EQ(r[0].payload, z("OK"));
  r = ask(XsType::write, z("data/y") + "2");
  EXPECT_EQ(r.size(), 1u);
}

TEST_F(XsSessionTest, TransactionsAndPermissionsOverTheWire) {
  auto r = ask(XsType::transaction_start, z(""));
  ASSERT_EQ(r[0].type, XsType::transaction_start);
  const auto tx = static_cast<std::uint32_t>(std::stoul(r[0].payload));
  r = ask(XsType::write, z("t") + "1", tx);
  EXPECT_EQ(r[0].payload, z("OK"));
  r = ask(XsType::transaction_end, z("T"), tx);
  EXPECT_EQ(r[0].payload, z("OK"));
  r = ask(XsType::get_perms, z("t"));
  EXPECT_EQ(r[0].payload, z("n3"));
  r = ask(XsType::set_perms, z("t") + z("n3") + z("r4"));
  EXPECT_EQ(r[0].payload, z("OK"));
  r = ask(XsType::set_perms, z("t") + z("x3"));
  EXPECT_EQ(r[0].payload, z("EINVAL"));
  r = ask(XsType::get_domain_path, z("7"));
  EXPECT_EQ(r[0].payload, z("/local/domain/7"));
  r = ask(XsType::directory, z(""));
  EXPECT_EQ(r[0].payload, z("EINVAL"));
  r = ask(XsType::directory, z("/local/domain/3"));
  EXPECT_EQ(r[0].payload, z("domid") + z("name") + z("t"));
}

TEST(XsDecoderTest, ReassemblesPiecesAndRefusesOversizeHeaders) {
  const std::string one = encode_xs_message(XsType::read, 7, 0, z("name"));
  const std::string two = encode_xs_message(XsType::write, 8, 0, z("a") + "b");
  const std::string stream = one + two;
  XsDecoder decoder;
  std::vector<XsMessage> got;
  for (const char c : stream) {
    EXPECT_EQ(decoder.feed(std::string_view(&c, 1)), 1u);
    while (auto m = decoder.next()) got.push_back(*m);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].header.req_id, 7u);
  EXPECT_EQ(got[1].payload, z("a") + "b");

  XsMessageHeader bad{static_cast<std::uint32_t>(XsType::read), 1, 0, abi::io::kXsPayloadMax + 1};
  std::string raw(sizeof bad, '\0');
  std::memcpy(raw.data(), &bad, sizeof bad);
  XsDecoder broken;
  (void)broken.feed(raw);
  EXPECT_TRUE(broken.broken());
  EXPECT_FALSE(broken.next());
  EXPECT_EQ(broken.feed("more"), 0u);
}

}  // namespace
}  // namespace shype::devices
