# kube_version_ldflags VERSION: the -X flags that stamp a Kubernetes release into a binary built from
# Go modules (a module build has no git tree, so the version would read v0.0.0-master+$Format:%H$).
kube_version_ldflags() {
  local version=$1 minor
  minor="${version#v1.}"
  minor="${minor%%.*}"
  local flags="" package
  for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $package.gitVersion=$version -X $package.gitMajor=1 -X $package.gitMinor=$minor"
    flags+=" -X $package.gitTreeState=clean -X $package.gitCommit=unknown"
    flags+=" -X $package.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$flags"
}
