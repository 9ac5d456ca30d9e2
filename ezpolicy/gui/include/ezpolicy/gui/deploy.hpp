// "Deploy": hands a generated policy to a running xend exactly as
// `xm setpolicy ACM <name>` does (JSON-RPC method policy.set with the XML
// and the file name as the administrator knows it, over
// SHYPE_ROOT/run/xend/xend.sock), and returns xend's answer for the window
// to show.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace shype::ezpolicy::gui {

struct DeployOutcome {
  bool ok = false;
  // Success: the `xm getpolicy` summary of the now active policy.
  // Failure: xend's message ("An error occurred trying to set the policy:
  // ...") with one indented line per reason, or why xend was not reached.
  std::string message;
  std::vector<std::string> warnings;  // xend's warnings (e.g. boot policy)
};

struct DeployRequest {
  std::filesystem::path root;  // SHYPE_ROOT
  std::string xml;             // the policy text
  std::string file;            // shown in xend's messages, e.g.
                               // /etc/xen/acm-security/policies/mytest-security_policy.xml
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

// <root>/run/xend/xend.sock
[[nodiscard]] std::filesystem::path xend_socket(const std::filesystem::path& root);

// Never throws; every failure is in the outcome.
[[nodiscard]] DeployOutcome deploy_policy(const DeployRequest& request);

}  // namespace shype::ezpolicy::gui
