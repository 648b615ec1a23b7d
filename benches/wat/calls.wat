;; Call overhead: an empty export, and a loop calling a host function `env.id` n times.
(module
  (import "env" "id" (func $id (param i32) (result i32)))
  (func (export "nop"))
  (func (export "host_loop") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $id (local.get $n))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $acc)))
