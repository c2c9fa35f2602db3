// libFuzzer target: arbitrary bytes through the YAML/JSON decoder, then the
// validator and the YAML emitter, as rpctl and the API would run them; the
// JSON parser's way to a JSON object's value against the YAML decoder's; and
// a JSON object's text through append_to_member, as a GET splices a stored
// object's resourceVersion.
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/json.hpp"
#include "rockpool/specs/validation.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = rockpool::specs::decode_documents(text, "fuzz.yaml");
  for (const auto& p : decoded.problems) (void)p.to_string();
  // The JSON parser's way, where taken, gives what the YAML way gives (before
  // validation fills in defaults) wherever yaml-cpp reads the text (it
  // refuses some valid JSON layouts, e.g. runs of CR inside brackets), and
  // always from the value's compact text.
  if (auto fast = rockpool::specs::decode_json_object(text)) {
    if (decoded.problems.empty() &&
        (decoded.documents.size() != 1 || decoded.documents[0].value != *fast))
      __builtin_trap();
    auto compact = rockpool::specs::decode_documents(boost::json::serialize(*fast), "compact");
    if (!compact.problems.empty() || compact.documents.size() != 1 ||
        compact.documents[0].value != *fast)
      __builtin_trap();
  }
  rockpool::specs::validation_context ctx;
  ctx.rules = &rockpool::actors::kind_rules();
  auto diagnostics = rockpool::specs::validate_input(decoded.documents, ctx);
  for (const auto& d : diagnostics) (void)d.to_string();
  for (const auto& doc : decoded.documents) {
    auto yaml = rockpool::specs::to_yaml(doc.value);
    // What we emit must decode again to the same value.
    auto again = rockpool::specs::decode_documents(yaml, "roundtrip.yaml");
    if (again.documents.size() != 1 || again.documents[0].value != doc.value) __builtin_trap();
  }
  auto parsed = rockpool::specs::parse_json(text);
  if (parsed.ok() && parsed->is_object()) {
    // The stored shape (Boost.JSON's serialisation): splicing must give the
    // bytes that parsing, setting the key and serialising again give.
    auto stored = boost::json::serialize(*parsed);
    auto spliced = rockpool::specs::append_to_member(stored, "metadata", "resourceVersion", "7");
    auto* meta = parsed->as_object().if_contains("metadata");
    bool fits = meta && meta->is_object() && !meta->as_object().contains("resourceVersion");
    if (spliced.has_value() != fits) __builtin_trap();
    if (spliced) {
      meta->as_object()["resourceVersion"] = "7";
      if (*spliced != boost::json::serialize(*parsed)) __builtin_trap();
    }
    (void)rockpool::specs::append_to_member(text, "metadata", "resourceVersion", "7");
  }
  return 0;
}
