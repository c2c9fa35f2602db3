#!/usr/bin/python3
"""The API through a second Kubernetes client family (issue 24): the
official Python client (Debian's python3-kubernetes) against a real
rockpoold (fake runtime, HTTPS on loopback, bearer token), configured with
nothing but the kubeconfig `rpctl config kubeconfig` prints. Discovery, the
dynamic client, typed custom objects, its watch helper with resume, paging
through 1,200 objects with limit=500, server-side apply, the status
subresource, 409 on a stale write, and /version.

Usage: python_client_e2e.py ROCKPOOLD RPCTL
Exit 0 pass, 1 fail, 77 no client library (and not under CI=true).
"""
import json
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rockpoold  # noqa: E402

ROCKPOOLD, RPCTL = sys.argv[1:3]
CI = os.environ.get("CI") == "true"
try:
    from kubernetes import client, config, watch
    from kubernetes.client.rest import ApiException
    from kubernetes.dynamic import DynamicClient
except ImportError:
    print("python_client_e2e: python3-kubernetes is missing")
    sys.exit(1 if CI else 77)

GROUP, VERSION = "rockpool.dev", "v1alpha1"
failures = []


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def workspace(name, **spec):
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workspace", "metadata": {"name": name},
            "spec": {"image": "rockpool-tiny", **spec}}


def main():
    tmp = tempfile.mkdtemp(prefix="rockpool-pyclient-")
    d = rockpoold.Daemon(ROCKPOOLD, RPCTL, tmp, "api")
    try:
        env = dict(os.environ, ROCKPOOL_SERVER=f"https://127.0.0.1:{d.port}",
                   ROCKPOOL_CA_FILE=os.path.join(d.dir, "db", "tls", "ca.crt"),
                   ROCKPOOL_TOKEN=d.token)
        kc = os.path.join(tmp, "kubeconfig")
        with open(kc, "w") as f:
            subprocess.run([RPCTL, "config", "kubeconfig"], env=env, stdout=f, check=True, timeout=30)
        api = config.new_client_from_config(config_file=kc)

        info = client.VersionApi(api).get_code()
        check(info.git_version.startswith("v") and info.build_date and info.git_commit is not None,
              f"version.Info: {info.git_version}, built {info.build_date}, {info.go_version}")

        review = client.AuthorizationV1Api(api).create_self_subject_access_review(
            client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    group=GROUP, resource="workspaces", verb="delete"))))
        check(review.status.allowed, f"access review: allowed ({review.status.reason})")

        # Discovery, then the dynamic client.
        dyn = DynamicClient(api)
        ws = dyn.resources.get(api_version=f"{GROUP}/{VERSION}", kind="Workspace")
        check(ws.name == "workspaces" and not ws.namespaced,
              "discovery: the dynamic client finds workspaces (cluster-scoped)")
        created = ws.create(body=workspace("py-one"))
        check(created.metadata.name == "py-one", "dynamic client: create")
        got = ws.get(name="py-one")
        check(got.spec.image == "rockpool-tiny", "dynamic client: get")
        check(any(i.metadata.name == "py-one" for i in ws.get().items), "dynamic client: list")

        # Typed custom objects.
        co = client.CustomObjectsApi(api)
        co.create_cluster_custom_object(GROUP, VERSION, "workspaces", workspace("py-two"))
        two = co.get_cluster_custom_object(GROUP, VERSION, "workspaces", "py-two")
        check(two["metadata"]["name"] == "py-two", "custom objects: create and get")

        # Status subresource and 409, on a kind no controller writes to
        # (a Workspace's status is the controller's, and changes under us).
        tmpl = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "WorkspaceTemplate",
                "spec": {"image": "rockpool-tiny"}}
        co.create_cluster_custom_object(GROUP, VERSION, "workspacetemplates",
                                        dict(tmpl, metadata={"name": "py-t"}))
        co.patch_cluster_custom_object_status(GROUP, VERSION, "workspacetemplates", "py-t",
                                              {"status": {"note": "from python"}})
        t = co.get_cluster_custom_object(GROUP, VERSION, "workspacetemplates", "py-t")
        check(t.get("status", {}).get("note") == "from python" and
              t["spec"]["image"] == "rockpool-tiny",
              f"status subresource: a merge patch of status ({t.get('status')})")
        fresh = dict(t, spec=dict(t["spec"], image="other"))
        co.replace_cluster_custom_object(GROUP, VERSION, "workspacetemplates", "py-t", fresh)
        try:
            co.replace_cluster_custom_object(GROUP, VERSION, "workspacetemplates", "py-t",
                                             dict(t, spec=dict(t["spec"], image="stale")))
            check(False, "a stale replace is refused")
        except ApiException as e:
            check(e.status == 409, f"a stale replace gets {e.status} (409 Conflict)")

        # Server-side apply through the dynamic client, twice: unchanged.
        # (python3-kubernetes 22.6's REST layer sends an apply patch only as a
        # string: a dict body fails in the client, before any request.)
        ssa = json.dumps(workspace("py-ssa", state="Stopped"))
        applied = dyn.server_side_apply(ws, body=ssa, name="py-ssa", field_manager="python-e2e")
        again = dyn.server_side_apply(ws, body=ssa, name="py-ssa", field_manager="python-e2e")
        # The controller may write status between the two (a new
        # resourceVersion): an unchanged apply keeps the generation.
        check(applied.spec.state == "Stopped" and applied.metadata.generation == 1 and
              again.metadata.generation == 1 and again.spec == applied.spec,
              f"server-side apply: created, then unchanged (generation "
              f"{applied.metadata.generation}, then {again.metadata.generation})")

        # The watch helper (watch=True), then resumed from the last version.
        listed = co.list_cluster_custom_object(GROUP, VERSION, "workspaces")
        start = listed["metadata"]["resourceVersion"]
        co.create_cluster_custom_object(GROUP, VERSION, "workspaces", workspace("py-w1"))
        co.create_cluster_custom_object(GROUP, VERSION, "workspaces", workspace("py-w2"))
        seen, last = [], start
        for e in watch.Watch().stream(co.list_cluster_custom_object, GROUP, VERSION, "workspaces",
                                      resource_version=start, timeout_seconds=2):
            seen.append((e["type"], e["object"]["metadata"]["name"]))
            if e["object"]["metadata"]["name"] == "py-w1":
                last = e["object"]["metadata"]["resourceVersion"]
        names = [n for _, n in seen]
        check(("ADDED", "py-w1") in seen and ("ADDED", "py-w2") in seen and "py-one" not in names,
              f"watch helper from a version: {seen}")
        resumed = [e["object"]["metadata"]["name"] for e in watch.Watch().stream(
            co.list_cluster_custom_object, GROUP, VERSION, "workspaces", resource_version=last,
            timeout_seconds=2)]
        check("py-w2" in resumed and "py-w1" not in resumed,
              f"watch resumed after py-w1's version sees only what came later: {resumed}")
        # A change while a watch is open arrives.
        got_live = threading.Event()

        def live():
            for e in watch.Watch().stream(co.list_cluster_custom_object, GROUP, VERSION,
                                          "workspaces", timeout_seconds=5):
                if e["object"]["metadata"]["name"] == "py-live":
                    got_live.set()
                    return
        t = threading.Thread(target=live)
        t.start()
        co.create_cluster_custom_object(GROUP, VERSION, "workspaces", workspace("py-live"))
        t.join(10)
        check(got_live.is_set(), "an open watch sees an object created meanwhile")

        # 1,200 objects (with py-t, 1,201), paged by 500: three pages, every
        # object once, all at the first page's resourceVersion.
        for i in range(1200):
            co.create_cluster_custom_object(GROUP, VERSION, "workspacetemplates",
                                            dict(tmpl, metadata={"name": f"t-{i:04d}"}))
        names, pages, token, versions = [], 0, None, set()
        while True:
            kwargs = {"limit": 500}
            if token:
                kwargs["_continue"] = token
            page = co.list_cluster_custom_object(GROUP, VERSION, "workspacetemplates", **kwargs)
            pages += 1
            versions.add(page["metadata"]["resourceVersion"])
            names += [i["metadata"]["name"] for i in page["items"]]
            token = page["metadata"].get("continue")
            if not token or pages > 10:
                break
        check(pages == 3 and len(names) == 1201 and len(set(names)) == 1201 and len(versions) == 1,
              f"paged list: {pages} pages, {len(names)} items, {len(set(names))} distinct, "
              f"one resourceVersion ({versions})")
    finally:
        d.stop()
    if failures:
        print(f"python_client_e2e: {len(failures)} failed")
        return 1
    print("python_client_e2e: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
