import type { Harness, Message } from '../../schemas/index.js';
import { hashValue } from './hash.js';

/**
 * A trajectory's id is a hash of what it is (task, harness, conversation), not of where it was
 * read from: the same run read from two files gets the same id, which exact dedup relies on.
 */
export function trajectoryId(taskId: string, harness: Harness, messages: Message[]): string {
  return hashValue({ task_id: taskId, harness, messages }).slice(0, 24);
}
