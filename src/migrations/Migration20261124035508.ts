import { Migration } from '@mikro-orm/migrations';

export class Migration20261124035508 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`concerts\` (\`id\` bigint unsigned not null auto_increment primary key, \`title\` varchar(200) not null, \`venue\` varchar(200) not null, \`max_active_users\` int unsigned not null, \`created_at\` datetime not null default CURRENT_TIMESTAMP) default character set utf8mb4 engine = InnoDB;`);

    this.addSql(`create table \`schedules\` (\`id\` bigint unsigned not null auto_increment primary key, \`concert_id\` bigint unsigned not null, \`starts_at\` datetime not null, \`total_seats\` int unsigned not null) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`schedules\` add index \`schedules_concert_id_index\`(\`concert_id\`);`);

    this.addSql(`create table \`seats\` (\`id\` bigint unsigned not null auto_increment primary key, \`schedule_id\` bigint unsigned not null, \`number\` int unsigned not null, \`price\` int unsigned not null) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`seats\` add index \`seats_schedule_id_index\`(\`schedule_id\`);`);
    this.addSql(`alter table \`seats\` add unique \`seats_schedule_id_number_unique\`(\`schedule_id\`, \`number\`);`);

    this.addSql(`create table \`users\` (\`id\` bigint unsigned not null auto_increment primary key, \`email\` varchar(254) not null, \`password_hash\` varchar(255) not null, \`role\` enum('USER', 'ADMIN') not null default 'USER', \`points\` int unsigned not null default 0, \`created_at\` datetime not null default CURRENT_TIMESTAMP) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`users\` add unique \`users_email_unique\`(\`email\`);`);

    this.addSql(`create table \`payments\` (\`id\` bigint unsigned not null auto_increment primary key, \`user_id\` bigint unsigned not null, \`idempotency_key\` varchar(128) not null, \`request_hash\` varchar(64) not null, \`amount\` int unsigned not null, \`balance\` int unsigned not null, \`created_at\` datetime not null default CURRENT_TIMESTAMP) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`payments\` add index \`payments_user_id_index\`(\`user_id\`);`);
    this.addSql(`alter table \`payments\` add unique \`payments_user_id_idempotency_key_unique\`(\`user_id\`, \`idempotency_key\`);`);

    this.addSql(`create table \`reservations\` (\`id\` bigint unsigned not null auto_increment primary key, \`code\` varchar(16) not null, \`seat_id\` bigint unsigned not null, \`user_id\` bigint unsigned not null, \`payment_id\` bigint unsigned not null, \`price\` int unsigned not null, \`created_at\` datetime not null default CURRENT_TIMESTAMP) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`reservations\` add unique \`reservations_code_unique\`(\`code\`);`);
    this.addSql(`alter table \`reservations\` add unique \`reservations_seat_id_unique\`(\`seat_id\`);`);
    this.addSql(`alter table \`reservations\` add index \`reservations_user_id_index\`(\`user_id\`);`);
    this.addSql(`alter table \`reservations\` add index \`reservations_payment_id_index\`(\`payment_id\`);`);

    this.addSql(`create table \`point_transactions\` (\`id\` bigint unsigned not null auto_increment primary key, \`user_id\` bigint unsigned not null, \`kind\` enum('CHARGE', 'PAYMENT', 'REFUND') not null, \`amount\` int not null, \`balance\` int unsigned not null, \`payment_id\` bigint unsigned null, \`created_at\` datetime not null default CURRENT_TIMESTAMP) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`point_transactions\` add index \`point_transactions_user_id_index\`(\`user_id\`);`);
    this.addSql(`alter table \`point_transactions\` add index \`point_transactions_payment_id_index\`(\`payment_id\`);`);
    this.addSql(`alter table \`point_transactions\` add index \`point_transactions_user_id_id_index\`(\`user_id\`, \`id\`);`);

    this.addSql(`alter table \`schedules\` add constraint \`schedules_concert_id_foreign\` foreign key (\`concert_id\`) references \`concerts\` (\`id\`) on update cascade on delete cascade;`);

    this.addSql(`alter table \`seats\` add constraint \`seats_schedule_id_foreign\` foreign key (\`schedule_id\`) references \`schedules\` (\`id\`) on update cascade on delete cascade;`);

    this.addSql(`alter table \`payments\` add constraint \`payments_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade;`);

    this.addSql(`alter table \`reservations\` add constraint \`reservations_seat_id_foreign\` foreign key (\`seat_id\`) references \`seats\` (\`id\`) on update cascade;`);
    this.addSql(`alter table \`reservations\` add constraint \`reservations_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade;`);
    this.addSql(`alter table \`reservations\` add constraint \`reservations_payment_id_foreign\` foreign key (\`payment_id\`) references \`payments\` (\`id\`) on update cascade;`);

    this.addSql(`alter table \`point_transactions\` add constraint \`point_transactions_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade;`);
    this.addSql(`alter table \`point_transactions\` add constraint \`point_transactions_payment_id_foreign\` foreign key (\`payment_id\`) references \`payments\` (\`id\`) on update cascade on delete set null;`);
  }

}
