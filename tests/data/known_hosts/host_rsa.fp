3072 SHA256:NavdT02LG7HXVgiBEmFWprJYXUU+EdF145ieTb8DbnQ nearmiss-test-host_rsa (RSA)
