// The bytes every bootstrap server in the benchmark answers with (docs/protocol.md, "Bootstrap"), so that the
// baselines do the same work on the wire as Homing's sidecar.
export const ANSWER_BODY = '{"code":200,"data":{"resources":{"mqtt":{"host":"127.0.0.1","port":1883}}},"message":"success"}'
export const ANSWER_TYPE = 'application/json;charset=utf-8'
