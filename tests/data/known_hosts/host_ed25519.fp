256 SHA256:3+pMyoHSCO8PHXlcnX4RWOchsyKJs/Py28I3olwTqKs nearmiss-test-host_ed25519 (ED25519)
