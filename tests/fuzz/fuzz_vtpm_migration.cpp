// Property fuzzer for what one vtpm_migratord receives from another over
// TLS (STYLE.md rule 12; vtpm/include/vtpm/migration_wire.hpp): a stream of
// frames, each a 4-byte length and a JSON message, some carrying a sealed
// migration package (migration.hpp).
//
// Properties, for every input:
//  - nothing crashes or reads outside the input (ASan);
//  - a frame length is accepted only in 1..kMaxPeerFrameBytes;
//  - an accepted message has a known type, and encoding it again gives a
//    frame that decodes to the same message (decode => encode => decode);
//  - an accepted package survives package_to_json => package_from_json
//    unchanged, and never opens with a key it was not sealed to.
// Any violation aborts.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "vtpm/migration.hpp"
#include "vtpm/migration_wire.hpp"

namespace {

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_vtpm_migration: property violated: %s\n", property);
  std::abort();
}

bool same_package(const shype::vtpm::MigrationPackage& a, const shype::vtpm::MigrationPackage& b) {
  return a.metadata.name == b.metadata.name && a.metadata.uuid == b.metadata.uuid &&
         a.metadata.instance == b.metadata.instance && a.metadata.files == b.metadata.files &&
         a.recipient == b.recipient && a.ephemeral == b.ephemeral && a.challenge == b.challenge &&
         a.nonce == b.nonce && a.ciphertext == b.ciphertext && a.tag == b.tag;
}

void check_package(const nlohmann::json& stored) {
  using namespace shype::vtpm;
  auto package = package_from_json(stored);
  if (!package) return;
  if (shype::vtpm::check_metadata(package->metadata).has_value() == false)
    violated("accepted a package whose metadata check fails");
  auto again = package_from_json(package_to_json(*package));
  if (!again || !same_package(*package, *again)) violated("package did not round-trip");
  static const auto key = MigrationKey::generate();
  if (!key) violated("cannot make a key");
  if (package->recipient != key->public_key() && open_package(*package, *key, package->challenge))
    violated("opened a package sealed to another key");
  // No input can know this run's key: nothing sealed to it is in the input.
  if (package->recipient == key->public_key() && open_package(*package, *key, package->challenge))
    violated("opened a package nobody could have sealed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shype::vtpm;
  static const std::set<std::string> kTypes = {"hello",  "recipient", "import", "imported",
                                               "commit", "abort",     "done",   "error"};
  std::string_view rest(reinterpret_cast<const char*>(data), size);  // SAFETY: bytes, read only
  for (int frames = 0; frames < 16 && rest.size() >= 4; ++frames) {
    const std::array<std::uint8_t, 4> header = {
        static_cast<std::uint8_t>(rest[0]), static_cast<std::uint8_t>(rest[1]),
        static_cast<std::uint8_t>(rest[2]), static_cast<std::uint8_t>(rest[3])};
    rest.remove_prefix(4);
    auto length = peer_frame_length(header);
    if (!length) return 0;
    if (*length == 0 || *length > kMaxPeerFrameBytes) violated("accepted a bad frame length");
    const std::string_view payload = rest.substr(0, *length);
    rest.remove_prefix(payload.size());
    // Whatever the message, the package decoder sees every JSON object too.
    const auto parsed = nlohmann::json::parse(payload, nullptr, false);
    if (parsed.is_object()) {
      check_package(parsed);
      if (parsed.contains("package")) check_package(parsed["package"]);
    }
    auto message = decode_peer_message(payload);
    if (!message) continue;
    if (!message->is_object() || !(*message)["type"].is_string() ||
        kTypes.count((*message)["type"].get<std::string>()) == 0) {
      violated("accepted a message of unknown type");
    }
    const std::string frame = encode_peer_frame(*message);
    auto again = decode_peer_message(std::string_view(frame).substr(4));
    if (!again || *again != *message) violated("message did not round-trip");
  }
  return 0;
}
