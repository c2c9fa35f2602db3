// The reconciled kinds. Adding a kind: its folder here, its CRD in crds/,
// and one line below.
#include "rockpool/actors/kinds.hpp"

#include "gitsync/reconciler.hpp"
#include "host/reconciler.hpp"
#include "nested_host/reconciler.hpp"
#include "port_route/reconciler.hpp"
#include "workspace/reconciler.hpp"
#include "workspace_snapshot/reconciler.hpp"

namespace rockpool::actors {

kind_registry standard_kinds(const kind_dependencies& deps) {
  kind_registry kinds;
  kinds.add(std::make_unique<workspace::reconciler>());
  kinds.add(std::make_unique<port_route::reconciler>());
  kinds.add(std::make_unique<workspace_snapshot::reconciler>());
  kinds.add(std::make_unique<nested_host::reconciler>());
  kinds.add(std::make_unique<gitsync::reconciler>(deps.gitsync));
  if (deps.host) kinds.add(std::make_unique<host::reconciler>(*deps.host));
  return kinds;
}

}  // namespace rockpool::actors
