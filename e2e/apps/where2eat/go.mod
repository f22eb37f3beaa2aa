module github.com/safedefaults/microapp-operator/e2e/apps/where2eat

go 1.24
