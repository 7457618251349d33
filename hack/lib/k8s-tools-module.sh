# k8s_tools_module DIR VERSION: writes (once) a Go module in DIR that requires k8s.io/kubernetes at
# VERSION with every staging module replaced by its published v0.x.y twin, and imports the commands
# the local cluster needs, so kube-apiserver, etcd, kube-scheduler and kube-controller-manager share
# one module graph and one compile cache. Talks on stderr.
k8s_tools_module() {
  local dir=$1 version=$2
  if [[ -f "$dir/go.sum" && -f "$dir/.tidy-$version" ]]; then
    return 0
  fi
  mkdir -p "$dir"
  local staging="v0.${version#v1.}" gomod go_directive
  printf '[k8s-tools] resolving k8s.io/kubernetes@%s\n' "$version" >&2
  gomod="$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  go_directive="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
  {
    printf 'module wfe.local/envtest-tools\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
      "$go_directive" "$version"
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod" | while read -r m; do
      printf '\t%s => %s %s\n' "$m" "$m" "$staging"
    done
    printf ')\n'
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  printf '[k8s-tools] downloading modules (first run only)\n' >&2
  (cd "$dir" && go mod tidy >&2)
  touch "$dir/.tidy-$version"
}
