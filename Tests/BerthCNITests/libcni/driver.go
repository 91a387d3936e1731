// driver: runs a conflist through libcni (the library podman and containerd embed) so a
// test sees exactly what they would make of berth-cni's results and errors.
//
//	driver ADD|CHECK|DEL|VERSION CONFLIST CONTAINERID NETNS IFNAME CACHEDIR PLUGINDIR HOSTPORT
//
// Success prints the result as libcni re-encodes it; failure prints "code N: MESSAGE"
// (or the error text) and exits 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func main() {
	a := os.Args
	list, err := libcni.ConfListFromFile(a[2])
	fail(err)
	cni := libcni.NewCNIConfigWithCacheDir([]string{a[7]}, a[6], nil)
	port, _ := strconv.Atoi(a[8])
	rt := &libcni.RuntimeConf{ContainerID: a[3], NetNS: a[4], IfName: a[5],
		CapabilityArgs: map[string]interface{}{"portMappings": []map[string]interface{}{{"hostPort": port, "containerPort": 80, "protocol": "tcp"}}}}
	ctx := context.Background()
	switch a[1] {
	case "ADD":
		result, err := cni.AddNetworkList(ctx, list, rt)
		fail(err)
		out, err := json.Marshal(result)
		fail(err)
		fmt.Println(string(out))
	case "CHECK":
		fail(cni.CheckNetworkList(ctx, list, rt))
	case "DEL":
		fail(cni.DelNetworkList(ctx, list, rt))
	case "VERSION":
		info, err := cni.GetVersionInfo(ctx, list.Plugins[0].Network.Type)
		fail(err)
		fmt.Println(info.SupportedVersions())
	}
}

func fail(err error) {
	if err == nil {
		return
	}
	// libcni wraps the plugin's error ("plugin type=... failed (add): %w").
	var e *types.Error
	if errors.As(err, &e) {
		fmt.Printf("code %d: %s\n", e.Code, e.Msg)
	} else {
		fmt.Println(err.Error())
	}
	os.Exit(1)
}
