"""The field simulator: a seeded Kota Pekalongan population and a fleet of virtual kader
phones that sync to the server as ODK Collect does, with the ground truth to check the
server against. See simulator/README.md; the command is `posyandu-sync simulate`."""
