#include "ezpolicy/gui/deploy.hpp"

#include <exception>
#include <utility>

#include "rpc/json_rpc.hpp"
#include "xm/format.hpp"

namespace shype::ezpolicy::gui {

std::filesystem::path xend_socket(const std::filesystem::path& root) {
  return root / "run/xend/xend.sock";
}

DeployOutcome deploy_policy(const DeployRequest& request) {
  DeployOutcome outcome;
  try {
    auto client = rpc::Client::connect(xend_socket(request.root), request.timeout);
    if (!client) {
      outcome.message = client.error().message;
      return outcome;
    }
    auto result =
        client->call("policy.set", {{"type", "ACM"}, {"xml", request.xml}, {"file", request.file}});
    if (!result) {
      // The same text `xm setpolicy` prints.
      const std::string& text = result.error().message;
      const std::size_t newline = text.find('\n');
      const std::string head = text.substr(0, newline);
      const std::string rest = newline == std::string::npos ? "" : text.substr(newline);
      outcome.message = "An error occurred trying to set the policy: " + head +
                        (head.empty() || head.back() == '.' ? "" : ".") + rest;
      const rpc::Json& data = result.error().data;
      if (data.is_object()) {
        for (const auto& line : data.value("details", rpc::Json::array())) {
          if (line.is_string()) outcome.message += "\n  " + line.get<std::string>();
        }
      }
      return outcome;
    }
    outcome.ok = true;
    outcome.message = "Successfully set the new policy.\n";
    if (result->is_object() && result->contains("policy")) {
      outcome.message += xm::format_policy((*result)["policy"]);
    }
    if (result->is_object()) {
      for (const auto& warning : result->value("warnings", rpc::Json::array())) {
        if (warning.is_string()) outcome.warnings.push_back(warning.get<std::string>());
      }
    }
  } catch (const std::exception& e) {
    // A malformed answer (nlohmann throws on type mismatches).
    outcome.ok = false;
    outcome.message = std::string("xend's answer could not be read: ") + e.what();
  }
  return outcome;
}

}  // namespace shype::ezpolicy::gui
