// libFuzzer target: arbitrary bytes through the YAML/JSON decoder, then the
// validator and the YAML emitter, as rpctl and the API would run them.
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/validation.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = rockpool::specs::decode_documents(text, "fuzz.yaml");
  for (const auto& p : decoded.problems) (void)p.to_string();
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
  (void)rockpool::specs::parse_json(text);
  return 0;
}
