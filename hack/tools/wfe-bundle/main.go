// wfe-bundle serves a local OCI registry and pushes Tekton bundles into it, so the e2e tier and the
// `make run` demo exercise Tekton's real bundles resolver without a registry on the internet.
//
//	wfe-bundle serve -addr 127.0.0.1:0 -addr-file FILE   registry in memory; the bound address goes to FILE
//	wfe-bundle push REF FILE...                          every YAML document becomes one bundle layer
//
// A Tekton bundle is an OCI image with one layer per resource; each layer is a tar holding one file
// (the resource's YAML, named after it) and carries the annotations dev.tekton.image.apiVersion,
// dev.tekton.image.kind (lowercase, singular) and dev.tekton.image.name. push prints REF@digest.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: wfe-bundle serve|push ..."))
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "push":
		err = pushCommand(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want serve or push)", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "wfe-bundle:", err)
	os.Exit(1)
}

func serve(args []string) error {
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := flags.String("addr", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	addrFile := flags.String("addr-file", "", "file to write the bound host:port to once listening")
	if err := flags.Parse(args); err != nil {
		return err
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	bound := listener.Addr().String()
	if *addrFile != "" {
		// write then rename, so a reader never sees half an address
		if err := os.WriteFile(*addrFile+".tmp", []byte(bound), 0o644); err != nil {
			return err
		}
		if err := os.Rename(*addrFile+".tmp", *addrFile); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, "wfe-bundle: registry serving on", bound)
	server := &http.Server{Handler: registry.New(), ReadHeaderTimeout: 10 * time.Second}
	return server.Serve(listener)
}

func pushCommand(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: wfe-bundle push REF FILE...")
	}
	digestRef, err := push(args[0], args[1:])
	if err != nil {
		return err
	}
	fmt.Println(digestRef)
	return nil
}

type resourceHeader struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

func push(ref string, files []string) (string, error) {
	target, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	var image v1.Image = empty.Image
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		for _, document := range splitDocuments(string(raw)) {
			image, err = appendResource(image, file, document)
			if err != nil {
				return "", err
			}
		}
	}
	if err := remote.Write(target, image); err != nil {
		return "", err
	}
	digest, err := image.Digest()
	if err != nil {
		return "", err
	}
	return target.Context().Digest(digest.String()).String(), nil
}

func splitDocuments(text string) []string {
	var documents []string
	for _, part := range strings.Split("\n"+text, "\n---") {
		if strings.TrimSpace(part) != "" {
			documents = append(documents, strings.TrimLeft(part, "\n"))
		}
	}
	return documents
}

func appendResource(image v1.Image, file, document string) (v1.Image, error) {
	var header resourceHeader
	if err := yaml.Unmarshal([]byte(document), &header); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if header.Kind == "" || header.Metadata.Name == "" {
		return nil, fmt.Errorf("%s: every document needs kind and metadata.name", file)
	}
	var archive bytes.Buffer
	writer := tar.NewWriter(&archive)
	entry := &tar.Header{Name: header.Metadata.Name, Mode: 0o644, Size: int64(len(document)), Typeflag: tar.TypeReg}
	if err := writer.WriteHeader(entry); err != nil {
		return nil, err
	}
	if _, err := writer.Write([]byte(document)); err != nil {
		return nil, err
	}
	if err := writer.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromReader(&archive)
	if err != nil {
		return nil, err
	}
	version := header.APIVersion[strings.LastIndex(header.APIVersion, "/")+1:]
	return mutate.Append(image, mutate.Addendum{Layer: layer, Annotations: map[string]string{
		"dev.tekton.image.apiVersion": version,
		"dev.tekton.image.kind":       strings.ToLower(header.Kind),
		"dev.tekton.image.name":       header.Metadata.Name,
	}})
}
