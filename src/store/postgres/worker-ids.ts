/**
 * The worker ids `func_worker_heartbeat_with_logs` takes: those the hub's API can read a worker
 * and its lines by (workerIdParam: 1 to LIMITS.workerIdChars characters, no control character).
 * The seed's function took any text: an empty id, or one of thousands of characters, was stored
 * and then out of every reader's reach. Characters are counted as PostgreSQL's char_length counts
 * them (code points), as workerIdParam does.
 */
import { LIMITS } from '../../core/limits.js';

const EXPECTED = `expected a worker id of 1 to ${LIMITS.workerIdChars} characters, no control characters`;

/** The function's first statements (after BEGIN): RAISE EXCEPTION (22023, invalid_parameter_value) for an id the API could not read. */
export const WORKER_ID_CHECK = `  IF worker_id_param IS NULL OR worker_id_param = '' THEN
    RAISE EXCEPTION 'func_worker_heartbeat_with_logs: worker_id_param is empty: ${EXPECTED}'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF char_length(worker_id_param) > ${LIMITS.workerIdChars} THEN
    RAISE EXCEPTION 'func_worker_heartbeat_with_logs: worker_id_param is % characters long: ${EXPECTED}', char_length(worker_id_param)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- \\p{Cc}, as workerIdParam tests it: U+0001–U+001F and U+007F–U+009F (text never holds U+0000)
  IF worker_id_param ~ '[\\u0001-\\u001f\\u007f-\\u009f]' THEN
    RAISE EXCEPTION 'func_worker_heartbeat_with_logs: worker_id_param holds a control character: ${EXPECTED}'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
`;
