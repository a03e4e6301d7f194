package local_test

import corev1 "k8s.io/api/core/v1"

func trueContainer() corev1.Container {
	return corev1.Container{Image: "alpine", Command: []string{"true"}}
}
