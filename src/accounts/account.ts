import type { Role, User } from '../entities';

/** The account fields a client may see (never the password hash). */
export interface Account {
  id: number;
  email: string;
  role: Role;
  points: number;
}

export const toAccount = (user: User): Account => ({ id: user.id, email: user.email, role: user.role, points: user.points });
